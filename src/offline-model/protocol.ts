import { z } from 'zod';

/**
 * The part of OpenAI's Chat Completions request the offline model understands. Unknown top-level arguments are
 * refused the way OpenAI refuses them, so a typo in the agent runtime fails here first and not in production.
 */
const textPart = z.object({ type: z.literal('text'), text: z.string() });
// Images, audio and files are accepted and counted but never read: no offline rule looks at them.
const otherPart = z.looseObject({ type: z.enum(['image_url', 'input_audio', 'file', 'refusal']) });
const contentParts = z.array(z.union([textPart, otherPart])).min(1);
const content = z.union([z.string(), contentParts]);

const toolCall = z.object({
  id: z.string().min(1),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

const messageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content, name: z.string().optional() }),
  z.object({ role: z.literal('developer'), content, name: z.string().optional() }),
  z.object({ role: z.literal('user'), content, name: z.string().optional() }),
  z.object({
    role: z.literal('assistant'),
    content: content.nullable().optional(),
    name: z.string().optional(),
    refusal: z.string().nullable().optional(),
    tool_calls: z.array(toolCall).optional(),
  }),
  z.object({ role: z.literal('tool'), content, tool_call_id: z.string().min(1) }),
]);
export type ChatMessage = z.infer<typeof messageSchema>;

const functionTool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'tool names must match ^[a-zA-Z0-9_-]{1,64}$'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullable().optional(),
  }),
});

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }),
  z.object({ type: z.literal('json_object') }),
  z.object({
    type: z.literal('json_schema'),
    json_schema: z.object({
      name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'json_schema.name must match ^[a-zA-Z0-9_-]{1,64}$'),
      description: z.string().optional(),
      schema: z.record(z.string(), z.unknown()).optional(),
      strict: z.boolean().nullable().optional(),
    }),
  }),
]);

const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) }),
]);

export const chatRequestSchema = z.strictObject({
  model: z.string().min(1),
  messages: z.array(messageSchema).min(1),
  tools: z.array(functionTool).optional(),
  tool_choice: toolChoice.optional(),
  parallel_tool_calls: z.boolean().optional(),
  response_format: responseFormat.optional(),
  max_tokens: z.int().positive().nullable().optional(),
  max_completion_tokens: z.int().positive().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  // Several choices or streaming would need a different response shape; no caller of ours asks for them.
  n: z.literal(1).nullable().optional(),
  stream: z.literal(false).nullable().optional(),
  stream_options: z.unknown().optional(),
  seed: z.int().nullable().optional(),
  stop: z
    .union([z.string(), z.array(z.string())])
    .nullable()
    .optional(),
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  store: z.boolean().nullable().optional(),
  frequency_penalty: z.number().min(-2).max(2).nullable().optional(),
  presence_penalty: z.number().min(-2).max(2).nullable().optional(),
  logit_bias: z.record(z.string(), z.number()).nullable().optional(),
  logprobs: z.boolean().nullable().optional(),
  top_logprobs: z.int().min(0).max(20).nullable().optional(),
  reasoning_effort: z.enum(['minimal', 'low', 'medium', 'high']).nullable().optional(),
  service_tier: z.string().nullable().optional(),
  prompt_cache_key: z.string().optional(),
  safety_identifier: z.string().optional(),
  verbosity: z.enum(['low', 'medium', 'high']).nullable().optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(
  message: string,
  type = 'invalid_request_error',
  param: string | null = null,
  code: string | null = null,
): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

/** The first zod issue as OpenAI words it: one message, the offending parameter path in `param`. */
export function requestError(error: z.ZodError): OpenAIErrorBody {
  const issue = error.issues[0];
  if (!issue) return errorBody('Invalid request body.');
  if (issue.code === 'unrecognized_keys') {
    return errorBody(`Unrecognized request argument supplied: ${issue.keys.join(', ')}`);
  }
  const param = issue.path.length
    ? issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i ? `.${String(p)}` : String(p))).join('')
    : null;
  const missing = issue.code === 'invalid_type' && issue.input === undefined;
  const message = missing
    ? `Missing required parameter: '${param}'.`
    : `Invalid value for '${param}': ${issue.message}`;
  return errorBody(message, 'invalid_request_error', param, missing ? 'missing_required_parameter' : 'invalid_value');
}

/** Plain text of a message's content, as a tokenizer or a rule would read it. */
export function textOf(c: z.infer<typeof content> | null | undefined): string {
  if (c == null) return '';
  if (typeof c === 'string') return c;
  return c.map((p) => (p.type === 'text' && 'text' in p && typeof p.text === 'string' ? p.text : '')).join('\n');
}
