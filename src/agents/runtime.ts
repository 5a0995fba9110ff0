import { setTimeout as delay } from 'node:timers/promises';
import type OpenAI from 'openai';
import type { Logger } from 'pino';
import { NonRetryable } from '../errors.js';
import type { Metrics } from '../metrics.js';
import { type Store, type Usage, zeroUsage } from '../store/models.js';
import { type CallLog, storeCallLog } from './call-log.js';
import type { Agent, AgentRunner, ToolContext } from './define.js';
import { callModel, type ModelCallDeps, ModelRequestRejected } from './model-call.js';
import { bestMode, type OutputMode, readTurn, refusesMode, requestFor } from './output-modes.js';
import {
  type AgentModelChooser,
  createModelResolver,
  type ModelProvider,
  type ProviderSupport,
  providerSupportSchema,
  type ResolvedModel,
} from './providers.js';
import { AgentSchemaError, formatIssues, type Issue, parseAgentInput } from './structured-output.js';
import { runToolCalls } from './tool-loop.js';
import { fenceUntrusted } from './untrusted.js';

/** The provider built from OPENAI_* (or the offline model) when no named provider is chosen. */
const DEFAULT_PROVIDER = 'default';

export interface AgentRunnerDeps {
  /**
   * The default provider's client, built by the composition root with `maxRetries: 0`: this runtime retries, so
   * each attempt is journaled. Ignored when `defaultProvider` is given.
   */
  client?: OpenAI;
  /** What the default provider's server supports (default: everything, as OpenAI and the offline model do). */
  defaultSupports?: Partial<ProviderSupport>;
  defaultProvider?: ModelProvider;
  defaultModel: string;
  /** Named providers from configuration (`providers:`), each with its own client. */
  providers?: readonly ModelProvider[];
  /** Per-agent provider and model (configuration's `workflows.<wf>.agents.<agent>`). */
  chooseModel?: AgentModelChooser;
  /** The workflow of a run, for `chooseModel`, when the caller of `run` does not pass it. */
  workflowOf?: (runId: string) => Promise<string | undefined>;
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

type Call = { runId: string; stepId: string; workflow?: string; signal?: AbortSignal; log?: CallLog };

/** Answers longer than this are cut in errors: enough to see what the server said, not a whole essay. */
const MAX_QUOTED_ANSWER = 500;

/**
 * The agent runtime: structured outputs, the tool loop, one repair turn for bad output, retries, limits, and a
 * journal entry for every model and tool call.
 */
export function createAgentRunner(deps: AgentRunnerDeps): AgentRunner {
  const defaultProvider = deps.defaultProvider ?? legacyProvider(deps);
  const resolve = createModelResolver({
    providers: deps.providers ?? [],
    defaultProvider,
    defaultModel: deps.defaultModel,
    choose: deps.chooseModel,
  });
  // Modes a server refused at run time, per provider and model: each refusal downgrades once, then sticks.
  const refused = new Map<string, Set<OutputMode>>();
  const storeLog = storeCallLog(deps.store);
  const modelDeps: ModelCallDeps = {
    client: defaultProvider.client,
    log: storeLog,
    logger: deps.logger,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    sleep: deps.sleep ?? ((ms, signal) => delay(ms, undefined, signal ? { signal } : {})),
    maxAttempts: Math.max(1, deps.maxAttempts ?? 4),
    now: deps.now ?? Date.now,
    random: Math.random,
    unpriced: new Set(),
  };

  function refusedFor(target: ResolvedModel): Set<OutputMode> {
    const key = `${target.provider.name}\u0000${target.model}`;
    let set = refused.get(key);
    if (!set) {
      set = new Set();
      refused.set(key, set);
    }
    return set;
  }

  async function execute<I, O>(agent: Agent<I, O>, rawInput: unknown, call: Call, tally: Tally) {
    const input = parseAgentInput(agent, rawInput);
    const { maxTurns, maxOutputTokens, timeoutMs, maxCostUsd } = agent.limits;
    const signal = call.signal ?? new AbortController().signal;
    const log = call.log ?? storeLog;
    const workflow =
      call.workflow ?? (deps.chooseModel && deps.workflowOf ? await deps.workflowOf(call.runId) : undefined);
    const target = resolve(agent, workflow);
    const { provider, model } = target;
    const refusedModes = refusedFor(target);
    let mode = bestMode(provider.supports, refusedModes);
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      // rewritten for the mode before each request: a downgrade changes what the answer must look like
      { role: 'system', content: '' },
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
        (
          await execute(
            nested,
            nestedInput,
            // the same log: a nested agent's calls belong to the caller's step and are written with them
            { ...call, ...(workflow !== undefined ? { workflow } : {}), signal, log },
            { usage: zeroUsage(), parent: tally },
          )
        ).output,
    };
    const providerDeps: ModelCallDeps = { ...modelDeps, client: provider.client, log };
    const toolDeps = { log, logger: deps.logger, now: modelDeps.now };
    let repairIssues: Issue[] | undefined;

    for (let turn = 1; turn <= maxTurns; turn++) {
      const { system, ...fields } = requestFor(agent, mode, provider.supports);
      messages[0] = { role: 'system', content: system };
      let called: Awaited<ReturnType<typeof callModel>>;
      try {
        called = await callModel(
          providerDeps,
          {
            runId: call.runId,
            stepId: call.stepId,
            agent: agent.name,
            provider: provider.name,
            outputMode: mode,
            turn,
            timeoutMs,
            signal,
          },
          { model, messages, ...fields, max_completion_tokens: maxOutputTokens },
        );
      } catch (err) {
        const next = err instanceof ModelRequestRejected ? downgrade(err, mode, target, refusedModes) : undefined;
        if (next === undefined) throw err;
        mode = next;
        // the refused request produced no answer: the same turn is asked again in the next mode
        turn--;
        continue;
      }
      const { completion, usage, callId } = called;
      add(tally, usage);
      checkCost(agent, tally, maxCostUsd);
      const message = completion.choices[0]?.message;
      if (!message) throw new NonRetryable(`agent ${agent.name}: the model returned no choices`);

      const read = readTurn(agent, mode, message);
      if (read.kind === 'tools') {
        // no turn left to read the results: running the tools would only spend
        if (turn === maxTurns) break;
        messages.push({ role: 'assistant', content: message.content, tool_calls: read.calls });
        messages.push(...(await runToolCalls(toolDeps, agent, read.calls, ctx)));
        // nested agents run inside tools and may have spent
        checkCost(agent, tally, maxCostUsd);
        continue;
      }

      const { answer } = read;
      if (answer.ok) return { output: answer.output, usage: { ...tally.usage }, turns: turn };
      await log.outputIssues(callId, formatIssues(answer.issues));
      // One repair turn only: a model that fails twice on the same schema rarely succeeds on a third try.
      if (repairIssues || turn === maxTurns)
        throw new AgentSchemaError(`${agent.name} returned output that does not match its schema`, answer.issues, {
          provider: provider.name,
          model: completion.model || model,
          mode,
          answer: quote(read.raw),
        });
      repairIssues = answer.issues;
      deps.logger.info(
        { runId: call.runId, stepId: call.stepId, agent: agent.name, issues: answer.issues.length, mode },
        'agent output does not match its schema; asking for a repair',
      );
      messages.push(read.assistant, ...read.repair(answer.issues));
    }
    throw new NonRetryable(`agent ${agent.name} exceeded ${maxTurns} turns`);
  }

  /** The next mode after a server refused this one for lacking the feature, or undefined when it is a real error. */
  function downgrade(
    err: ModelRequestRejected,
    mode: OutputMode,
    target: ResolvedModel,
    refusedModes: Set<OutputMode>,
  ): OutputMode | undefined {
    if (!refusesMode(mode, err.httpStatus, err.serverMessage)) return undefined;
    const first = !refusedModes.has(mode);
    refusedModes.add(mode);
    const next = bestMode(target.provider.supports, refusedModes);
    if (next === mode) return undefined;
    // Logged once per provider and model; concurrent steps that raced into the same refusal stay quiet.
    if (first)
      deps.logger.warn(
        { provider: target.provider.name, model: target.model, refused: mode, next, server: err.serverMessage },
        'model server refused an output mode; using the next one for this provider and model',
      );
    return next;
  }

  return {
    run: (agent, input, call) => execute(agent, input, call, { usage: zeroUsage() }),
  };
}

function legacyProvider(deps: AgentRunnerDeps): ModelProvider {
  if (!deps.client) throw new Error('createAgentRunner needs a client or a defaultProvider');
  return {
    name: DEFAULT_PROVIDER,
    baseUrl: undefined,
    supports: providerSupportSchema.parse(deps.defaultSupports ?? {}),
    client: deps.client,
  };
}

const quote = (text: string) =>
  text.length > MAX_QUOTED_ANSWER
    ? `${text.slice(0, MAX_QUOTED_ANSWER)}…[${text.length - MAX_QUOTED_ANSWER} more]`
    : text;

function checkCost<I, O>(agent: Agent<I, O>, tally: Tally, maxCostUsd: number | undefined): void {
  if (maxCostUsd !== undefined && tally.usage.costUsd > maxCostUsd)
    throw new NonRetryable(
      `agent ${agent.name} exceeded its cost limit: $${tally.usage.costUsd.toFixed(4)} > $${maxCostUsd}`,
    );
}
