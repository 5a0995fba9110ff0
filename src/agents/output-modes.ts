import type OpenAI from 'openai';
import { issuesOf, NonRetryable } from '../errors.js';
import type { Agent } from './define.js';
import type { ProviderSupport } from './providers.js';
import {
  compileAgent,
  type FinalAnswer,
  type Issue,
  parseFinalAnswer,
  repairPrompt,
  toJsonSchema,
} from './structured-output.js';
import { UNTRUSTED_NOTICE } from './untrusted.js';

/**
 * How an agent's answer is asked for, strongest guarantee first. Every mode's answer goes through the same zod
 * validation and repair turn; only strict JSON Schema has the server enforce the shape as well.
 */
const OUTPUT_MODES = ['json_schema', 'json_object', 'tool_call', 'text'] as const;
export type OutputMode = (typeof OUTPUT_MODES)[number];

/** The tool that carries the answer in `tool_call` mode. */
export const ANSWER_TOOL = 'final_answer';

/** Marks the schema in the system prompt of the modes without server-side schemas; the offline model reads it. */
export const SCHEMA_MARKER = 'Response schema';

const needs: Record<OutputMode, (s: ProviderSupport) => boolean> = {
  json_schema: (s) => s.strictJsonSchema,
  json_object: (s) => s.jsonMode,
  tool_call: (s) => s.tools,
  text: () => true,
};

/** The strongest mode the provider declares and has not refused at run time; `text` always remains. */
export function bestMode(supports: ProviderSupport, refused: ReadonlySet<OutputMode>): OutputMode {
  return OUTPUT_MODES.find((m) => needs[m](supports) && !refused.has(m)) ?? 'text';
}

export interface ModeRequest {
  system: string;
  response_format?: OpenAI.ChatCompletionCreateParams['response_format'];
  tools?: OpenAI.ChatCompletionFunctionTool[];
  tool_choice?: OpenAI.ChatCompletionToolChoiceOption;
}

type JsonSchema = Record<string, unknown>;
const loose = new WeakMap<Agent<never, never>, { output: JsonSchema; tools: OpenAI.ChatCompletionFunctionTool[] }>();

function compileLoose<I, O>(agent: Agent<I, O>) {
  const key = agent as unknown as Agent<never, never>;
  const hit = loose.get(key);
  if (hit) return hit;
  if (agent.tools.some((t) => t.name === ANSWER_TOOL))
    throw new NonRetryable(`agent ${agent.name} declares a tool named ${ANSWER_TOOL}, which carries answers`);
  const result = {
    output: toJsonSchema(agent.output, `agent ${agent.name} output`),
    tools: agent.tools.map(
      (t): OpenAI.ChatCompletionFunctionTool => ({
        type: 'function',
        function: {
          name: t.name,
          description: t.description,
          parameters: toJsonSchema(t.input, `tool ${t.name} input (agent ${agent.name})`),
        },
      }),
    ),
  };
  loose.set(key, result);
  return result;
}

/** The system prompt and request fields for one mode. Throws when the agent's tools meet a server without tools. */
export function requestFor<I, O>(agent: Agent<I, O>, mode: OutputMode, supports: ProviderSupport): ModeRequest {
  const base = `${agent.instructions}\n\n${UNTRUSTED_NOTICE}`;
  if (agent.tools.length > 0 && !supports.tools)
    throw new NonRetryable(`agent ${agent.name} uses tools, but its model provider does not support tool calls`);
  if (mode === 'json_schema') {
    const { responseFormat, tools } = compileAgent(agent);
    return { system: base, response_format: responseFormat, ...(tools ? { tools } : {}) };
  }
  const compiled = compileLoose(agent);
  const schemaText = `${SCHEMA_MARKER} "${agent.name}" (JSON Schema):\n${JSON.stringify(compiled.output)}`;
  const agentTools = compiled.tools.length > 0 ? { tools: compiled.tools } : {};
  if (mode === 'tool_call') {
    const answerTool: OpenAI.ChatCompletionFunctionTool = {
      type: 'function',
      function: {
        name: ANSWER_TOOL,
        description: `Gives the final answer of ${agent.name}; the arguments are the answer.`,
        parameters: compiled.output,
      },
    };
    return {
      system: `${base}\n\nGive your final answer by calling the ${ANSWER_TOOL} tool with the answer as its arguments.\n${schemaText}`,
      tools: [...compiled.tools, answerTool],
      // Forcing the answer tool would forbid the agent's own tools; `required` still rules out a prose answer.
      tool_choice: compiled.tools.length > 0 ? 'required' : { type: 'function', function: { name: ANSWER_TOOL } },
    };
  }
  const system = `${base}\n\nAnswer with one JSON object and nothing else: no prose, no code fence.\n${schemaText}`;
  if (mode === 'json_object') return { system, response_format: { type: 'json_object' }, ...agentTools };
  return { system, ...agentTools };
}

export type ModelTurn<O> =
  | { kind: 'tools'; calls: OpenAI.ChatCompletionMessageToolCall[] }
  | {
      kind: 'answer';
      answer: FinalAnswer<O>;
      /** What the server answered, for the error a person reads when the answer stays invalid. */
      raw: string;
      /** The assistant message to keep in the conversation before a repair request. */
      assistant: OpenAI.ChatCompletionAssistantMessageParam;
      /** The repair request in the form this mode needs (a user message, or tool results for the answer call). */
      repair(issues: Issue[]): OpenAI.ChatCompletionMessageParam[];
    };

/** Reads one model response: tool calls to run, or a final answer parsed and validated for the mode. */
export function readTurn<I, O>(
  agent: Agent<I, O>,
  mode: OutputMode,
  message: OpenAI.ChatCompletionMessage,
): ModelTurn<O> {
  const calls = message.tool_calls ?? [];
  const answerCall = calls.find((c) => c.type === 'function' && c.function.name === ANSWER_TOOL);
  if (mode === 'tool_call' && answerCall?.type === 'function') {
    const raw = answerCall.function.arguments;
    return {
      kind: 'answer',
      answer: validate(agent, extractJson(raw)),
      raw,
      assistant: { role: 'assistant', content: message.content, tool_calls: [answerCall] },
      repair: (issues) => [{ role: 'tool', tool_call_id: answerCall.id, content: repairPrompt(issues) }],
    };
  }
  if (calls.length > 0) return { kind: 'tools', calls };
  const raw = message.content ?? '';
  // A refusal is checked the same way in every mode; only strict mode insists on the bare JSON text.
  const answer: FinalAnswer<O> =
    mode === 'json_schema' || message.refusal ? parseFinalAnswer(agent, message) : validate(agent, extractJson(raw));
  return {
    kind: 'answer',
    answer,
    raw: message.refusal ?? raw,
    assistant: { role: 'assistant', content: raw },
    repair: (issues) => [{ role: 'user', content: repairPrompt(issues) }],
  };
}

type Extracted = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * JSON from a model that was asked for JSON but not held to it: the text itself, else the first fenced block,
 * else the outermost braces. Servers in JSON mode and plain-text models both wrap answers in prose or fences.
 */
export function extractJson(text: string): Extracted {
  const attempts = [text.trim()];
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text)?.[1];
  if (fenced !== undefined) attempts.push(fenced.trim());
  const start = text.indexOf('{');
  const end = text.lastIndexOf('}');
  if (start !== -1 && end > start) attempts.push(text.slice(start, end + 1));
  let first: string | undefined;
  for (const candidate of attempts) {
    try {
      return { ok: true, value: JSON.parse(candidate) };
    } catch (err) {
      first ??= (err as Error).message;
    }
  }
  return { ok: false, error: first ?? 'empty answer' };
}

function validate<I, O>(agent: Agent<I, O>, extracted: Extracted): FinalAnswer<O> {
  if (!extracted.ok) return { ok: false, issues: [{ path: '(root)', message: `not valid JSON (${extracted.error})` }] };
  const parsed = agent.output.safeParse(extracted.value);
  return parsed.success ? { ok: true, output: parsed.data } : { ok: false, issues: issuesOf(parsed.error) };
}

const REFUSAL =
  /not supported|unsupported|unavailable|not available|does(?: not|n't) support|not allowed|not implemented|unrecognized|unknown (?:parameter|field|argument)|extra (?:fields|inputs)/i;
const FEATURE: Record<OutputMode, RegExp> = {
  json_schema: /json_schema|response_format|structured output|guided_json/i,
  json_object: /json_object|response_format|json mode/i,
  tool_call: /tool|function/i,
  text: /$^/,
};

/**
 * Whether a rejected request says the server lacks the feature this mode relies on, in the words servers use:
 * OpenAI's "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model",
 * "Unsupported parameter: 'tools' …", DeepSeek's "This response_format type is unavailable now", and the like.
 */
export function refusesMode(mode: OutputMode, httpStatus: number | undefined, serverMessage: string): boolean {
  if (httpStatus !== 400 && httpStatus !== 422) return false;
  return REFUSAL.test(serverMessage) && FEATURE[mode].test(serverMessage);
}
