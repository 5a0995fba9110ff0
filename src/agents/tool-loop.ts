import type OpenAI from 'openai';
import type { Logger } from 'pino';
import { issuesOf } from '../errors.js';
import { isInfrastructureError } from '../infra-errors.js';
import type { ToolCallDoc } from '../store/models.js';
import type { CallLog } from './call-log.js';
import type { Agent, Tool, ToolContext } from './define.js';
import { formatIssues } from './structured-output.js';

export interface ToolLoopDeps {
  log: CallLog;
  logger: Logger;
  now: () => number;
}

/** Results past this size are cut: a tool returning a whole table would otherwise blow the context and the bill. */
const MAX_RESULT_CHARS = 20_000;

type Outcome = { content: string; outcome: ToolCallDoc['outcome']; detail?: string; args: unknown };

/**
 * Runs the tool calls of one model response, concurrently, and returns one `tool` message per call in the order the
 * model asked. Every call is journaled, refused and invalid ones included: that is the audit trail of what the
 * model tried to do.
 */
export async function runToolCalls<I, O>(
  deps: ToolLoopDeps,
  agent: Agent<I, O>,
  calls: readonly OpenAI.ChatCompletionMessageToolCall[],
  ctx: ToolContext,
): Promise<OpenAI.ChatCompletionToolMessageParam[]> {
  return Promise.all(
    calls.map(async (call): Promise<OpenAI.ChatCompletionToolMessageParam> => {
      const started = deps.now();
      const name = call.type === 'function' ? call.function.name : call.custom.name;
      const result = await runOne(deps, agent, call, name, ctx);
      const doc: ToolCallDoc = {
        runId: ctx.runId,
        stepId: ctx.stepId,
        agent: agent.name,
        tool: name,
        arguments: result.args,
        outcome: result.outcome,
        ...(result.detail !== undefined ? { detail: result.detail } : {}),
        durationMs: deps.now() - started,
        at: new Date(started),
      };
      await deps.log.toolCall(doc);
      return { role: 'tool', tool_call_id: call.id, content: result.content };
    }),
  );
}

async function runOne<I, O>(
  deps: ToolLoopDeps,
  agent: Agent<I, O>,
  call: OpenAI.ChatCompletionMessageToolCall,
  name: string,
  ctx: ToolContext,
): Promise<Outcome> {
  const raw = call.type === 'function' ? call.function.arguments : call.custom.input;
  const tool: Tool<unknown, unknown> | undefined =
    call.type === 'function' ? agent.tools.find((t) => t.name === name) : undefined;
  if (!tool) {
    deps.logger.warn(
      { runId: ctx.runId, stepId: ctx.stepId, agent: agent.name, tool: name },
      'model called a tool the agent does not declare; refused',
    );
    const detail = `tool "${name}" is not available to agent ${agent.name}`;
    return { content: `Error: tool "${name}" is not available.`, outcome: 'refused', detail, args: tryJson(raw) };
  }
  let args: unknown;
  try {
    args = JSON.parse(raw);
  } catch (err) {
    const detail = `arguments are not valid JSON (${(err as Error).message})`;
    return { content: `Error: ${detail}`, outcome: 'invalid_arguments', detail, args: raw };
  }
  const parsed = tool.input.safeParse(args);
  if (!parsed.success) {
    const detail = formatIssues(issuesOf(parsed.error));
    return { content: `Error: invalid arguments: ${detail}`, outcome: 'invalid_arguments', detail, args };
  }
  try {
    const value = await tool.run(parsed.data, ctx);
    return { content: truncate(JSON.stringify(value) ?? 'null'), outcome: 'ok', args };
  } catch (err) {
    // The step stops on abort, and on an outage (the store or Redis away): evidence a tool could not read is not
    // evidence that is absent, so the model must not reason on without it. Any other failure is the model's to
    // work around, so it hears the message (no stack).
    if (ctx.signal.aborted || isInfrastructureError(err)) throw err;
    const detail = err instanceof Error ? err.message : String(err);
    return { content: `Error: ${detail}`, outcome: 'error', detail, args };
  }
}

function tryJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}

function truncate(text: string): string {
  if (text.length <= MAX_RESULT_CHARS) return text;
  return `${text.slice(0, MAX_RESULT_CHARS)}…[truncated ${text.length - MAX_RESULT_CHARS} characters]`;
}
