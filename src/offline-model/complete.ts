import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { ANSWER_TOOL } from '../agents/output-modes.js';
import type { FaultSpec, Phase } from './faults.js';
import { type ChatRequest, errorBody, type OpenAIErrorBody } from './protocol.js';
import { agentOf, promptSchema, type Reply, type Responder, readConversation } from './responder.js';
import { type createPromptCache, tokensOf } from './usage.js';

/** What the HTTP layer should do with one chat completion request. */
export type Outcome =
  | { kind: 'json'; status: number; body: unknown; headers?: Record<string, string> }
  // The `timeout` fault: answer nothing, the client gives up on its own.
  | { kind: 'hang' };

/** Features of a real server this one can pretend to lack; each lacking one is refused as real servers refuse it. */
export interface ServerSupport {
  strictJsonSchema: boolean;
  jsonMode: boolean;
  tools: boolean;
}

export interface CompletionDeps {
  responders: ReadonlyMap<string, Responder>;
  supports: ServerSupport;
  faults: { take(agent: string, phase: Phase): FaultSpec | null };
  cache: ReturnType<typeof createPromptCache>;
}

const fail = (status: number, body: OpenAIErrorBody, headers?: Record<string, string>): Outcome => ({
  kind: 'json',
  status,
  body,
  ...(headers ? { headers } : {}),
});
// A responder that breaks its own contract is a bug in test code; say so loudly rather than answer something.
const bug = (message: string): Outcome => fail(500, errorBody(`offline model: ${message}`, 'server_error'));

export async function complete(req: ChatRequest, deps: CompletionDeps): Promise<Outcome> {
  const unsupported = refusal(req, deps.supports);
  if (unsupported) return unsupported;
  const agent = agentOf(req);
  if (!agent) {
    return fail(
      400,
      errorBody(
        'The offline model identifies the agent by response_format.json_schema.name (or metadata.agent); neither was given.',
        'invalid_request_error',
        'response_format',
        'missing_agent',
      ),
    );
  }
  const responder = deps.responders.get(agent);
  if (!responder) {
    const known = [...deps.responders.keys()].join(', ') || 'none';
    return fail(
      400,
      errorBody(
        `The offline model has no responder for agent "${agent}" (known: ${known}).`,
        'invalid_request_error',
        'response_format.json_schema.name',
        'unknown_agent',
      ),
    );
  }

  const fault = deps.faults.take(agent, 'request');
  if (fault?.kind === 'timeout') return { kind: 'hang' };
  if (fault?.kind === 'rate_limit') return rateLimited(req.model, fault.retryAfterSeconds ?? 1);
  if (fault?.kind === 'server_error') {
    return fail(
      500,
      errorBody('The server had an error while processing your request. Sorry about that!', 'server_error'),
    );
  }

  const conversation = readConversation(req);
  let reply: Reply;
  try {
    reply = await responder.respond(conversation);
  } catch (err) {
    return bug(`responder "${agent}" threw: ${err instanceof Error ? err.message : String(err)}`);
  }
  const prompt = deps.cache.measure(req);

  if ('toolCalls' in reply) {
    if (reply.toolCalls.length === 0) return bug(`responder "${agent}" asked for an empty list of tool calls`);
    const offered = new Set(conversation.availableTools);
    const undeclared = reply.toolCalls.find((c) => !offered.has(c.name));
    if (undeclared && !responder.allowUndeclaredTools) {
      return bug(`responder "${agent}" called tool "${undeclared.name}", which the request does not offer`);
    }
    const calls = req.parallel_tool_calls === false ? reply.toolCalls.slice(0, 1) : reply.toolCalls;
    const turnHash = createHash('sha256').update(JSON.stringify(req.messages)).digest('hex');
    const toolCalls = calls.map((c, i) => ({
      // Derived from the conversation so a replayed conversation gets the same ids.
      id: `call_${createHash('sha256').update(`${turnHash}:${i}:${c.name}`).digest('base64url').slice(0, 24)}`,
      type: 'function' as const,
      function: { name: c.name, arguments: JSON.stringify(c.arguments) },
    }));
    const completionTokens = toolCalls.reduce((n, c) => n + tokensOf(c.function.name + c.function.arguments) + 3, 0);
    return ok(req, { content: null, tool_calls: toolCalls }, 'tool_calls', prompt, completionTokens);
  }

  const spoil = deps.faults.take(agent, 'answer');
  const answerTool = answerToolOf(req);
  if (answerTool) {
    // The runtime asked for the answer as a call of its answer tool: the reply goes into the arguments.
    let args = JSON.stringify(reply.output);
    if (spoil?.kind === 'malformed_json') args = args.slice(0, Math.max(1, Math.floor(args.length / 2)));
    else if (spoil?.kind === 'schema_violation') args = JSON.stringify(withoutRequired(reply.output, answerTool));
    const id = `call_${createHash('sha256').update(JSON.stringify(req.messages)).digest('base64url').slice(0, 24)}`;
    const call = { id, type: 'function' as const, function: { name: ANSWER_TOOL, arguments: args } };
    return ok(req, { content: null, tool_calls: [call] }, 'tool_calls', prompt, tokensOf(ANSWER_TOOL + args) + 3);
  }
  let content: string;
  if (spoil?.kind === 'malformed_json') {
    const json = JSON.stringify(reply.output);
    content = `Here is the analysis you asked for: ${json.slice(0, Math.max(1, Math.floor(json.length / 2)))}`;
  } else if (spoil?.kind === 'schema_violation') {
    content = JSON.stringify(withoutRequired(reply.output, schemaOf(req)));
  } else {
    const problem = outsideSchema(reply.output, req);
    if (problem) return bug(`responder "${agent}" answered outside its schema: ${problem}`);
    const rf = req.response_format?.type;
    const plain = rf === undefined || rf === 'text';
    if (typeof reply.output === 'string' && plain) content = reply.output;
    // Asked for JSON in words only, chat models tend to wrap it in prose and a fence; the runtime must cope.
    else if (plain && promptSchema(req))
      content = `Here is the answer:\n\n\`\`\`json\n${JSON.stringify(reply.output, null, 2)}\n\`\`\``;
    else content = JSON.stringify(reply.output);
  }
  const limit = req.max_completion_tokens ?? req.max_tokens ?? null;
  const full = tokensOf(content);
  if (limit !== null && full > limit) {
    return ok(req, { content: content.slice(0, limit * 4) }, 'length', prompt, limit);
  }
  return ok(req, { content }, 'stop', prompt, full);
}

function ok(
  req: ChatRequest,
  message: { content: string | null; tool_calls?: unknown[] },
  finishReason: 'stop' | 'tool_calls' | 'length',
  prompt: { promptTokens: number; cachedTokens: number },
  completionTokens: number,
): Outcome {
  return {
    kind: 'json',
    status: 200,
    body: {
      id: `chatcmpl-${randomBytes(15).toString('base64url')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      choices: [
        {
          index: 0,
          message: { role: 'assistant', refusal: null, annotations: [], ...message },
          finish_reason: finishReason,
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: prompt.promptTokens,
        completion_tokens: completionTokens,
        total_tokens: prompt.promptTokens + completionTokens,
        prompt_tokens_details: { cached_tokens: prompt.cachedTokens, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: 0,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      },
      service_tier: 'default',
      system_fingerprint: 'fp_offline',
    },
  };
}

function rateLimited(model: string, seconds: number): Outcome {
  return fail(
    429,
    errorBody(
      `Rate limit reached for ${model} in organization org-offline on requests per min (RPM): Limit 60, Used 60, Requested 1. Please try again in ${seconds}s.`,
      'requests',
      null,
      'rate_limit_exceeded',
    ),
    {
      'retry-after': String(Math.ceil(seconds)),
      'retry-after-ms': String(Math.round(seconds * 1000)),
      'x-ratelimit-limit-requests': '60',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': `${seconds}s`,
    },
  );
}

function schemaOf(req: ChatRequest): Record<string, unknown> | undefined {
  const rf = req.response_format;
  return rf?.type === 'json_schema' ? rf.json_schema.schema : promptSchema(req)?.schema;
}

/** The answer tool's schema when the request forces or requires tool calls and offers the answer tool. */
function answerToolOf(req: ChatRequest): Record<string, unknown> | undefined {
  const tool = req.tools?.find((t) => t.function.name === ANSWER_TOOL);
  if (!tool) return undefined;
  const choice = req.tool_choice;
  const forced = typeof choice === 'object' ? choice.function.name === ANSWER_TOOL : choice === 'required';
  return forced ? (tool.function.parameters ?? {}) : undefined;
}

/**
 * A lacking feature refused in the words of OpenAI's API for models without it, which other servers echo; a
 * runtime that recognises these downgrades to its next output mode.
 */
function refusal(req: ChatRequest, supports: ServerSupport): Outcome | null {
  const rf = req.response_format?.type;
  if ((rf === 'json_schema' && !supports.strictJsonSchema) || (rf === 'json_object' && !supports.jsonMode)) {
    return fail(
      400,
      errorBody(
        `Invalid parameter: 'response_format' of type '${rf}' is not supported with this model.`,
        'invalid_request_error',
        'response_format',
        null,
      ),
    );
  }
  if (!supports.tools && (req.tools?.length ?? 0) > 0) {
    return fail(
      400,
      errorBody(
        "Unsupported parameter: 'tools' is not supported with this model.",
        'invalid_request_error',
        'tools',
        'unsupported_parameter',
      ),
    );
  }
  return null;
}

function withoutRequired(output: unknown, schema: Record<string, unknown> | undefined): unknown {
  if (typeof output !== 'object' || output === null || Array.isArray(output)) return {};
  const copy: Record<string, unknown> = { ...output };
  const required = Array.isArray(schema?.required) ? schema.required.filter((k) => typeof k === 'string') : [];
  const victim = required[0] ?? Object.keys(copy)[0];
  if (victim !== undefined) delete copy[victim];
  return copy;
}

// Strict structured outputs never break the schema; a responder that does is caught here, not in the runtime.
const validators = new Map<string, z.ZodType | null>();
function outsideSchema(output: unknown, req: ChatRequest): string | null {
  const rf = req.response_format;
  if (rf?.type !== 'json_schema' || !rf.json_schema.strict || !rf.json_schema.schema) return null;
  const key = JSON.stringify(rf.json_schema.schema);
  if (!validators.has(key)) {
    try {
      validators.set(key, z.fromJSONSchema(rf.json_schema.schema as Parameters<typeof z.fromJSONSchema>[0]));
    } catch {
      validators.set(key, null); // a schema zod cannot read is the runtime's business; nothing to check against
    }
    if (validators.size > 500) validators.delete(validators.keys().next().value as string);
  }
  const result = validators.get(key)?.safeParse(output);
  if (!result || result.success) return null;
  const issue = result.error.issues[0];
  return issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid';
}
