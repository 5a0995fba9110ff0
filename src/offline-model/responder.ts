import { SCHEMA_MARKER } from '../agents/output-modes.js';
import { parseFenced } from '../agents/untrusted.js';
import { type ChatMessage, type ChatRequest, textOf } from './protocol.js';

/** A tool the model asked for earlier in this conversation, with what the runtime answered. */
export interface ToolResult {
  name: string;
  arguments: unknown;
  result: unknown;
}

export interface RespondRequest {
  /** The agent input, read back from the `input` fence of the first user message (null when there is none). */
  input: unknown;
  messages: ChatMessage[];
  /** In call order: every tool call of earlier assistant turns that has a tool message answering it. */
  toolResults: ToolResult[];
  /** Tool names the request offers (none when `tool_choice` is `none`). */
  availableTools: string[];
}

export type Reply = { toolCalls: { name: string; arguments: Record<string, unknown> }[] } | { output: unknown };

/**
 * Plays one agent. Must be deterministic: the same request gives the same reply, so tests and demos replay exactly.
 *
 * @example
 * const echo: Responder = { agent: 'echo', respond: ({ input }) => ({ output: { said: input } }) };
 */
export interface Responder {
  agent: string;
  respond(req: RespondRequest): Reply | Promise<Reply>;
  /**
   * Lets this responder call tools the request does not offer. Off by default, where doing so is a bug in the
   * responder (500); on for tests that check how the runtime refuses undeclared tools.
   */
  allowUndeclaredTools?: boolean;
}

/** `dispute_manager` and `dispute-manager` name the same agent: schema names are often snake_case. */
export const agentKey = (name: string): string => name.trim().toLowerCase().replaceAll('_', '-');

/**
 * Which agent a request is for: the structured-output schema name, else `metadata.agent`, else the schema the
 * runtime names in the system prompt when the server is not trusted with the schema (JSON mode, tool call, text).
 */
export function agentOf(req: ChatRequest): string | null {
  const rf = req.response_format;
  if (rf?.type === 'json_schema') return agentKey(rf.json_schema.name);
  const fromMetadata = req.metadata?.agent;
  if (fromMetadata) return agentKey(fromMetadata);
  const named = promptSchema(req);
  return named ? agentKey(named.name) : null;
}

const SCHEMA_LINE = new RegExp(`^${SCHEMA_MARKER} "([^"]+)" \\(JSON Schema\\):\\n(.+)$`, 'm');

/** The answer schema written into the system prompt (see src/agents/output-modes.ts), as a model would read it. */
export function promptSchema(req: ChatRequest): { name: string; schema: Record<string, unknown> | undefined } | null {
  const system = req.messages.find((m) => m.role === 'system' || m.role === 'developer');
  const match = system ? SCHEMA_LINE.exec(textOf(system.content)) : null;
  if (!match?.[1]) return null;
  let schema: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(match[2] ?? '');
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed))
      schema = parsed as Record<string, unknown>;
  } catch {
    schema = undefined;
  }
  return { name: match[1], schema };
}

export function readConversation(req: ChatRequest): RespondRequest {
  const firstUser = req.messages.find((m) => m.role === 'user');
  const fenced = firstUser ? parseFenced(textOf(firstUser.content)) : [];
  const input = fenced.find((f) => f.label === 'input')?.data ?? null;

  const answers = new Map<string, unknown>();
  for (const m of req.messages) if (m.role === 'tool') answers.set(m.tool_call_id, parseMaybeJson(textOf(m.content)));
  const toolResults: ToolResult[] = [];
  for (const m of req.messages) {
    if (m.role !== 'assistant') continue;
    for (const call of m.tool_calls ?? []) {
      if (!answers.has(call.id)) continue;
      toolResults.push({
        name: call.function.name,
        arguments: parseMaybeJson(call.function.arguments),
        result: answers.get(call.id),
      });
    }
  }
  const availableTools = req.tool_choice === 'none' ? [] : (req.tools ?? []).map((t) => t.function.name);
  return { input, messages: req.messages, toolResults, availableTools };
}

// Tool messages are whatever the runtime wrote; JSON is the norm, but an error string must reach the rules too.
function parseMaybeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
