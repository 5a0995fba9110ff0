import { setTimeout as delay } from 'node:timers/promises';
import type OpenAI from 'openai';
import type { Logger } from 'pino';
import { NonRetryable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { type Store, type Usage, zeroUsage } from '../store/models.js';
import type { Agent, AgentRunner, ToolContext } from './define.js';
import { callModel, type ModelCallDeps } from './model-call.js';
import {
  AgentSchemaError,
  compileAgent,
  type Issue,
  parseAgentInput,
  parseFinalAnswer,
  repairPrompt,
} from './structured-output.js';
import { runToolCalls } from './tool-loop.js';
import { fenceUntrusted, UNTRUSTED_NOTICE } from './untrusted.js';

export interface AgentRunnerDeps {
  /** Built by the composition root with `maxRetries: 0`: this runtime retries, so each attempt is journaled. */
  client: OpenAI;
  defaultModel: string;
  store: Pick<Store, 'modelCalls' | 'toolCalls'>;
  logger: Logger;
  metrics?: Metrics;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Attempts per model request before the step fails as Retryable (default 4). */
  maxAttempts?: number;
  now?: () => number;
}

/** Usage of one agent run; every addition also reaches the agent that called it as a tool. */
interface Tally {
  usage: Usage;
  parent?: Tally;
}

function add(tally: Tally | undefined, u: Usage): void {
  for (let t = tally; t; t = t.parent) {
    t.usage.inputTokens += u.inputTokens;
    t.usage.outputTokens += u.outputTokens;
    t.usage.cachedTokens += u.cachedTokens;
    t.usage.costUsd += u.costUsd;
  }
}

type Call = { runId: string; stepId: string; signal?: AbortSignal };

/**
 * The agent runtime: structured outputs, the tool loop, one repair turn for bad output, retries, limits, and a
 * journal entry for every model and tool call.
 */
export function createAgentRunner(deps: AgentRunnerDeps): AgentRunner {
  const modelDeps: ModelCallDeps = {
    client: deps.client,
    store: deps.store,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    sleep: deps.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {})),
    maxAttempts: Math.max(1, deps.maxAttempts ?? 4),
    now: deps.now ?? Date.now,
    random: Math.random,
    unpriced: new Set(),
  };
  const toolDeps = { store: deps.store, logger: deps.logger, now: modelDeps.now };

  async function execute<I, O>(agent: Agent<I, O>, rawInput: unknown, call: Call, tally: Tally) {
    const input = parseAgentInput(agent, rawInput);
    const { responseFormat, tools } = compileAgent(agent);
    const { maxTurns, maxOutputTokens, timeoutMs, maxCostUsd } = agent.limits;
    const signal = call.signal ?? new AbortController().signal;
    const model = agent.model ?? deps.defaultModel;
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: `${agent.instructions}\n\n${UNTRUSTED_NOTICE}` },
      {
        role: 'user',
        content: `Task: analyse the input below as ${agent.name} and answer with JSON matching the response schema.\n\n${fenceUntrusted('input', input)}`,
      },
    ];
    const ctx: ToolContext = {
      runId: call.runId,
      stepId: call.stepId,
      agent: agent.name,
      signal,
      runAgent: async (nested, nestedInput) =>
        (await execute(nested, nestedInput, { ...call, signal }, { usage: zeroUsage(), parent: tally })).output,
    };
    let repairIssues: Issue[] | undefined;

    for (let turn = 1; turn <= maxTurns; turn++) {
      const { completion, usage } = await callModel(
        modelDeps,
        { runId: call.runId, stepId: call.stepId, agent: agent.name, turn, timeoutMs, signal },
        {
          model,
          messages,
          response_format: responseFormat,
          ...(tools ? { tools } : {}),
          max_completion_tokens: maxOutputTokens,
        },
      );
      add(tally, usage);
      checkCost(agent, tally, maxCostUsd);
      const message = completion.choices[0]?.message;
      if (!message) throw new NonRetryable(`agent ${agent.name}: the model returned no choices`);

      if (message.tool_calls && message.tool_calls.length > 0) {
        // no turn left to read the results: running the tools would only spend
        if (turn === maxTurns) break;
        messages.push({ role: 'assistant', content: message.content, tool_calls: message.tool_calls });
        messages.push(...(await runToolCalls(toolDeps, agent, message.tool_calls, ctx)));
        // nested agents run inside tools and may have spent
        checkCost(agent, tally, maxCostUsd);
        continue;
      }

      const answer = parseFinalAnswer(agent, message);
      if (answer.ok) return { output: answer.output, usage: { ...tally.usage }, turns: turn };
      // One repair turn only: a model that fails twice on the same schema rarely succeeds on a third try.
      if (repairIssues || turn === maxTurns)
        throw new AgentSchemaError(`${agent.name} returned output that does not match its schema`, answer.issues);
      repairIssues = answer.issues;
      deps.logger.info(
        { runId: call.runId, stepId: call.stepId, agent: agent.name, issues: answer.issues.length },
        'agent output does not match its schema; asking for a repair',
      );
      messages.push({ role: 'assistant', content: message.content ?? '' });
      messages.push({ role: 'user', content: repairPrompt(answer.issues) });
    }
    throw new NonRetryable(`agent ${agent.name} exceeded ${maxTurns} turns`);
  }

  return {
    run: (agent, input, call) => execute(agent, input, call, { usage: zeroUsage() }),
  };
}

function checkCost<I, O>(agent: Agent<I, O>, tally: Tally, maxCostUsd: number | undefined): void {
  if (maxCostUsd !== undefined && tally.usage.costUsd > maxCostUsd)
    throw new NonRetryable(
      `agent ${agent.name} exceeded its cost limit: $${tally.usage.costUsd.toFixed(4)} > $${maxCostUsd}`,
    );
}
