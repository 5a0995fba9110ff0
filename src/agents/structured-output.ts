import type OpenAI from 'openai';
import { z } from 'zod';
import { issuesOf, NonRetryable } from '../errors.js';
import type { Agent } from './define.js';

type JsonSchema = Record<string, unknown>;
export type Issue = { path: string; message: string };

/** A schema failure retrying cannot fix: bad agent input, or model output still wrong after the repair turn. */
export class AgentSchemaError extends NonRetryable {
  constructor(
    message: string,
    readonly issues: Issue[],
    /** Who answered and what they said, when the output (not the input) was wrong: the person reading needs both. */
    readonly answeredBy?: { provider: string; model: string; mode: string; answer: string },
  ) {
    super(`${message}: ${formatIssues(issues)}${answeredBy ? describeAnswer(answeredBy) : ''}`);
  }
}

const describeAnswer = (a: NonNullable<AgentSchemaError['answeredBy']>) =>
  ` (provider ${a.provider}, model ${a.model}, output mode ${a.mode}; the server answered: ${JSON.stringify(a.answer)})`;

export function formatIssues(issues: Issue[]): string {
  return issues.map((i) => `${i.path}: ${i.message}`).join('; ');
}

const isObject = (v: unknown): v is JsonSchema => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * OpenAI strict mode accepts a subset of JSON Schema: every object closed (`additionalProperties: false`) and every
 * property listed in `required`. zod's JSON Schema is rewritten to that shape, or rejected with the property named,
 * so a schema that cannot be strict fails on first use instead of producing unvalidated output in production.
 */
function toStrictJsonSchema(schema: z.ZodType, what: string): JsonSchema {
  return strictify(toJsonSchema(schema, what), what, '') as JsonSchema;
}

/**
 * Plain JSON Schema of what `schema` parses, without the `$schema` header; a schema zod cannot express (say, a
 * custom refinement type) fails as NonRetryable naming `what`. Servers without strict outputs take it as is.
 */
export function toJsonSchema(schema: z.ZodType, what: string): JsonSchema {
  let json: JsonSchema;
  try {
    // `input`: the model writes what the schema parses, so transforms and defaults are seen from the parsing side.
    json = z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
  } catch (err) {
    throw new NonRetryable(`${what} cannot be expressed as JSON Schema: ${(err as Error).message}`);
  }
  delete json.$schema;
  return json;
}

function strictify(node: unknown, what: string, path: string): unknown {
  if (Array.isArray(node)) return node.map((n, i) => strictify(n, what, `${path}[${i}]`));
  if (!isObject(node)) return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'properties' && isObject(value)) {
      const props: JsonSchema = {};
      for (const [name, prop] of Object.entries(value)) props[name] = strictify(prop, what, join(path, name));
      out.properties = props;
    } else if (key === 'default') {
      // strict mode has no defaults: the model always writes the field (see `required` below)
    } else if (key === 'propertyNames') {
      // only produced by z.record, rejected below through additionalProperties
    } else {
      out[key] = strictify(value, what, key === 'items' ? `${path}[]` : path);
    }
  }
  if (node.type === 'object' || isObject(node.properties)) {
    if (node.additionalProperties !== undefined && node.additionalProperties !== false)
      throw new NonRetryable(
        `${what}: ${path || '(root)'} is a record or open object; OpenAI strict mode needs fixed properties`,
      );
    const props = isObject(node.properties) ? node.properties : {};
    const required = new Set(Array.isArray(node.required) ? node.required : []);
    for (const [name, prop] of Object.entries(props)) {
      // A defaulted field is optional to zod but harmless to require: the model just writes the value.
      if (!required.has(name) && !(isObject(prop) && 'default' in prop))
        throw new NonRetryable(
          `${what}: property "${join(path, name)}" is optional; OpenAI strict mode needs every property required ` +
            '(use .nullable() instead of .optional())',
        );
    }
    out.properties = isObject(out.properties) ? out.properties : {};
    out.required = Object.keys(props);
    out.additionalProperties = false;
  }
  return out;
}

const join = (path: string, name: string) => (path ? `${path}.${name}` : name);

export interface CompiledAgent {
  responseFormat: OpenAI.ResponseFormatJSONSchema;
  tools: OpenAI.ChatCompletionFunctionTool[] | undefined;
}

const compiled = new WeakMap<Agent<never, never>, CompiledAgent>();

/** Request pieces for an agent, built once per agent object; throws on the first use of a non-strict schema. */
export function compileAgent<I, O>(agent: Agent<I, O>): CompiledAgent {
  const key = agent as unknown as Agent<never, never>;
  const hit = compiled.get(key);
  if (hit) return hit;
  const schema = toStrictJsonSchema(agent.output, `agent ${agent.name} output`);
  const tools = agent.tools.map(
    (t): OpenAI.ChatCompletionFunctionTool => ({
      type: 'function',
      function: {
        name: t.name,
        description: t.description,
        parameters: toStrictJsonSchema(t.input, `tool ${t.name} input (agent ${agent.name})`),
        strict: true,
      },
    }),
  );
  const result: CompiledAgent = {
    responseFormat: { type: 'json_schema', json_schema: { name: agent.name, schema, strict: true } },
    tools: tools.length > 0 ? tools : undefined,
  };
  compiled.set(key, result);
  return result;
}

/** Validates the agent's input before any model call; bad input is a caller bug, not a model problem. */
export function parseAgentInput<I, O>(agent: Agent<I, O>, input: unknown): I {
  const parsed = agent.input.safeParse(input);
  if (!parsed.success) throw new AgentSchemaError(`agent ${agent.name} got invalid input`, issuesOf(parsed.error));
  return parsed.data;
}

export type FinalAnswer<O> = { ok: true; output: O } | { ok: false; issues: Issue[] };

/** Reads a final answer: JSON, no refusal, matching the output schema. */
export function parseFinalAnswer<I, O>(
  agent: Agent<I, O>,
  message: { content: string | null; refusal?: string | null },
): FinalAnswer<O> {
  if (message.refusal) return { ok: false, issues: [{ path: '(root)', message: `refused: ${message.refusal}` }] };
  let json: unknown;
  try {
    json = JSON.parse(message.content ?? '');
  } catch (err) {
    return { ok: false, issues: [{ path: '(root)', message: `not valid JSON (${(err as Error).message})` }] };
  }
  const parsed = agent.output.safeParse(json);
  return parsed.success ? { ok: true, output: parsed.data } : { ok: false, issues: issuesOf(parsed.error) };
}

export function repairPrompt(issues: Issue[]): string {
  return (
    'Your answer does not match the required JSON schema. Problems:\n' +
    issues.map((i) => `- ${i.path}: ${i.message}`).join('\n') +
    '\nReply again with only the corrected JSON object, matching the schema exactly.'
  );
}
