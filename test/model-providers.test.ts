import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent, defineTool } from '../src/agents/define.js';
import { extractJson, refusesMode } from '../src/agents/output-modes.js';
import { createProvider, type ProviderSupport, providersFromSettings } from '../src/agents/providers.js';
import { createAgentRunner } from '../src/agents/runtime.js';
import { NonRetryable } from '../src/errors.js';
import { type OfflineModel, type Responder, startOfflineModel } from '../src/offline-model/index.js';
import { openStore, type Store } from '../src/store/models.js';

// Named model providers and the output modes for servers without strict structured outputs, over HTTP through
// the real openai client against the offline model pretending to lack features the way real servers lack them.

const analysis = z.object({ tone: z.enum(['calm', 'angry']), summary: z.string() });
const analyst = defineAgent({
  name: 'language-analyst',
  instructions: 'Classify the tone of the message.',
  input: z.object({ description: z.string() }),
  output: analysis,
});
const answer = { tone: 'calm', summary: 'asks politely for a refund' } as const;
const input = { description: 'Please refund me.' };

const getCharge = defineTool({
  name: 'get_charge',
  description: 'Looks up a card charge by id',
  input: z.object({ chargeId: z.string() }),
  run: async ({ chargeId }) => ({ chargeId, amount: 42 }),
});
const chargeReader = defineAgent({
  name: 'charge-reader',
  instructions: 'Read the charge and report its amount.',
  input: z.object({ chargeId: z.string() }),
  output: z.object({ amount: z.number() }),
  tools: [getCharge],
});

const responders: Responder[] = [
  { agent: 'language-analyst', respond: () => ({ output: answer }) },
  {
    agent: 'charge-reader',
    respond: ({ input: given, toolResults }) => {
      const charge = toolResults.find((r) => r.name === 'get_charge');
      if (!charge) return { toolCalls: [{ name: 'get_charge', arguments: given as Record<string, unknown> }] };
      return { output: { amount: (charge.result as { amount: number }).amount } };
    },
  },
];

let store: Store;
let server: OfflineModel;
let runId: string;
let logs: { msg: string; refused?: string; next?: string; server?: string }[];

beforeAll(async () => {
  store = await openStore('mongodb://127.0.0.1:27027/modelproviderstest');
  server = await startOfflineModel({ latencyMs: 0, responders });
});
afterAll(async () => {
  await server.close();
  await store.close();
});
beforeEach(() => {
  runId = randomUUID();
  logs = [];
});
afterEach(() => {
  server.faults.clear();
  server.setSupports({});
});

/** A runner whose only model is the provider `local` on the offline model, declared with `supports`. */
function runner(supports: Partial<ProviderSupport> = {}) {
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line)) });
  const local = createProvider({ name: 'local', baseUrl: server.baseUrl, supports });
  return createAgentRunner({
    defaultProvider: local,
    defaultModel: 'local-model',
    store,
    logger,
    sleep: async () => {},
  });
}

const call = () => ({ runId, stepId: 'analyse' });
const modelCalls = () => store.modelCalls.find({ runId }).sort({ _id: 1 }).lean();
const downgrades = () => logs.filter((l) => l.msg.includes('refused an output mode'));

describe('a server without strict JSON-schema outputs', () => {
  it('refuses json_schema with a 400; the runtime downgrades to JSON mode once and then starts there', async () => {
    server.setSupports({ strictJsonSchema: false });
    const run = runner();
    const first = await run.run(analyst, input, call());
    expect(first.output).toEqual(answer);
    expect(await modelCalls()).toMatchObject([
      {
        provider: 'local',
        outputMode: 'json_schema',
        status: 'error',
        httpStatus: 400,
        error: expect.stringContaining("'response_format' of type 'json_schema' is not supported"),
      },
      { provider: 'local', outputMode: 'json_object', status: 'ok', turn: 1 },
    ]);
    await run.run(analyst, input, call());
    // the second run asks in JSON mode straight away: the refusal is remembered for this provider and model
    expect((await modelCalls()).map((c) => c.outputMode)).toEqual(['json_schema', 'json_object', 'json_object']);
    expect(downgrades()).toMatchObject([{ refused: 'json_schema', next: 'json_object' }]);
  });

  it('uses JSON mode from the start when the provider declares no strict schemas', async () => {
    server.setSupports({ strictJsonSchema: false });
    await runner({ strictJsonSchema: false }).run(analyst, input, call());
    expect(await modelCalls()).toMatchObject([{ outputMode: 'json_object', status: 'ok' }]);
    expect(downgrades()).toHaveLength(0);
  });

  it('repairs a JSON-mode answer that breaks the schema, with the validation issues', async () => {
    server.faults.inject({ agent: 'language-analyst', kind: 'schema_violation', times: 1 });
    const result = await runner({ strictJsonSchema: false }).run(analyst, input, call());
    expect(result).toMatchObject({ output: answer, turns: 2 });
    const calls = await modelCalls();
    expect(calls).toMatchObject([{ outputMode: 'json_object', outputIssues: expect.stringMatching(/^tone: /) }, {}]);
    expect(calls[1]?.outputIssues).toBeUndefined();
  });
});

describe('a server with neither structured outputs nor JSON mode', () => {
  it('downgrades twice, then gets the answer as a forced call of the answer tool', async () => {
    server.setSupports({ strictJsonSchema: false, jsonMode: false });
    const result = await runner().run(analyst, input, call());
    expect(result.output).toEqual(answer);
    expect((await modelCalls()).map((c) => [c.outputMode, c.httpStatus ?? c.status])).toEqual([
      ['json_schema', 400],
      ['json_object', 400],
      ['tool_call', 'ok'],
    ]);
    expect(downgrades().map((l) => l.next)).toEqual(['json_object', 'tool_call']);
  });

  it("runs the agent's own tools before the answer tool", async () => {
    server.setSupports({ strictJsonSchema: false, jsonMode: false });
    const result = await runner({ strictJsonSchema: false, jsonMode: false }).run(
      chargeReader,
      { chargeId: 'ch_1' },
      call(),
    );
    expect(result).toMatchObject({ output: { amount: 42 }, turns: 2 });
    expect(await store.toolCalls.find({ runId }).lean()).toMatchObject([{ tool: 'get_charge', outcome: 'ok' }]);
  });

  it('fails visibly when the answer stays invalid: provider, model, mode, issues and what the server said', async () => {
    server.faults.inject({ agent: 'language-analyst', kind: 'schema_violation', times: 2 });
    const err = await runner({ strictJsonSchema: false, jsonMode: false })
      .run(analyst, input, call())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryable);
    const message = (err as Error).message;
    expect(message).toMatch(/^language-analyst returned output that does not match its schema: tone: /);
    expect(message).toContain('provider local, model local-model, output mode tool_call');
    expect(message).toContain('the server answered: "{\\"summary\\":\\"asks politely for a refund\\"}"');
    const calls = await modelCalls();
    expect(calls).toHaveLength(2);
    expect(calls.every((c) => c.outputIssues?.startsWith('tone: '))).toBe(true);
  });
});

describe('a server without tool calls either', () => {
  it('asks in plain words and reads the JSON out of a fenced, chatty answer', async () => {
    server.setSupports({ strictJsonSchema: false, jsonMode: false, tools: false });
    const result = await runner().run(analyst, input, call());
    expect(result.output).toEqual(answer);
    expect((await modelCalls()).map((c) => c.outputMode)).toEqual(['json_schema', 'json_object', 'tool_call', 'text']);
  });

  it('refuses an agent that needs tools on a provider declared without them, before calling it', async () => {
    const err = await runner({ tools: false })
      .run(chargeReader, { chargeId: 'ch_1' }, call())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryable);
    expect((err as Error).message).toMatch(/charge-reader uses tools, but its model provider does not support/);
    expect(await modelCalls()).toHaveLength(0);
  });
});

describe('choosing a provider and model per agent', () => {
  function twoProviders(choose: (agent: string, workflow?: string) => { provider?: string; model?: string }) {
    const logger = pino({ level: 'silent' });
    const [local] = providersFromSettings(
      { local: { baseUrl: server.baseUrl, apiKeyEnv: 'LOCAL_MODEL_KEY', supports: { strictJsonSchema: false } } },
      { LOCAL_MODEL_KEY: 'k-local' },
    );
    return createAgentRunner({
      defaultProvider: createProvider({ name: 'default', baseUrl: server.baseUrl }),
      defaultModel: 'offline',
      providers: local ? [local] : [],
      chooseModel: choose,
      workflowOf: async () => 'refund-request',
      store,
      logger,
    });
  }

  it('sends the agent to the provider and model chosen for its workflow, and journals both', async () => {
    const seen: [string, string | undefined][] = [];
    const run = twoProviders((agent, workflow) => {
      seen.push([agent, workflow]);
      return workflow === 'refund-request' ? { provider: 'local', model: 'llama-3.1-8b' } : {};
    });
    await run.run(analyst, input, call());
    expect(seen).toEqual([['language-analyst', 'refund-request']]);
    expect(await modelCalls()).toMatchObject([{ provider: 'local', model: 'llama-3.1-8b', outputMode: 'json_object' }]);
  });

  it('keeps the default provider for agents without a choice', async () => {
    await twoProviders(() => ({})).run(analyst, input, { ...call(), workflow: 'disputes' });
    expect(await modelCalls()).toMatchObject([{ provider: 'default', model: 'offline', outputMode: 'json_schema' }]);
  });

  it('fails the step, naming the agent and the known providers, for a provider nobody configured', async () => {
    const err = await twoProviders(() => ({ provider: 'nowhere', model: 'x' }))
      .run(analyst, input, call())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryable);
    expect((err as Error).message).toBe(
      'agent language-analyst (workflow refund-request) uses model provider "nowhere", which is not configured (known: default, local)',
    );
  });

  it('refuses a non-default provider chosen without a model', async () => {
    await expect(twoProviders(() => ({ provider: 'local' })).run(analyst, input, call())).rejects.toThrow(
      /uses model provider "local" without naming a model/,
    );
  });

  it('fails at start when a provider key variable is missing', () => {
    expect(() => providersFromSettings({ p: { baseUrl: 'http://127.0.0.1:1/v1', apiKeyEnv: 'NOPE_KEY' } }, {})).toThrow(
      'providers.p.apiKeyEnv: environment variable NOPE_KEY is not set',
    );
  });
});

describe('the offline model pretending to lack features', () => {
  const client = () => new OpenAI({ baseURL: server.baseUrl, apiKey: 'offline', maxRetries: 0 });
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'hello' }];

  it('refuses json_schema and json_object with the 400 body OpenAI sends for models without them', async () => {
    server.setSupports({ strictJsonSchema: false, jsonMode: false });
    const schema = { name: 'language-analyst', schema: { type: 'object' }, strict: true };
    for (const response_format of [{ type: 'json_schema', json_schema: schema }, { type: 'json_object' }] as const) {
      const err = await client()
        .chat.completions.create({ model: 'offline', messages, response_format })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.BadRequestError);
      expect(err).toMatchObject({
        status: 400,
        param: 'response_format',
        error: {
          message: `Invalid parameter: 'response_format' of type '${response_format.type}' is not supported with this model.`,
          type: 'invalid_request_error',
        },
      });
    }
  });

  it('refuses tools as unsupported parameters', async () => {
    server.setSupports({ tools: false });
    const err = await client()
      .chat.completions.create({
        model: 'offline',
        messages,
        tools: [{ type: 'function', function: { name: 'final_answer', parameters: { type: 'object' } } }],
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, param: 'tools', code: 'unsupported_parameter' });
  });
});

describe('reading servers', () => {
  it('recognises feature refusals in the words servers use, and nothing else', () => {
    const openai = "Invalid parameter: 'response_format' of type 'json_schema' is not supported with this model.";
    expect(refusesMode('json_schema', 400, openai)).toBe(true);
    expect(refusesMode('json_schema', 400, 'This response_format type is unavailable now')).toBe(true);
    expect(refusesMode('tool_call', 400, "Unsupported parameter: 'tools' is not supported with this model.")).toBe(
      true,
    );
    expect(refusesMode('json_schema', 400, "Invalid value for 'messages[1].content': expected a string")).toBe(false);
    expect(refusesMode('json_schema', 429, openai)).toBe(false);
    expect(refusesMode('text', 400, openai)).toBe(false);
  });

  it('extracts JSON from bare, fenced and chatty answers, and reports what is not JSON', () => {
    expect(extractJson('{"a":1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(extractJson('Sure!\n```json\n{"a":1}\n```\nAnything else?')).toEqual({ ok: true, value: { a: 1 } });
    expect(extractJson('The answer is {"a":{"b":2}} as asked.')).toEqual({ ok: true, value: { a: { b: 2 } } });
    expect(extractJson('I cannot help with that.')).toMatchObject({ ok: false });
  });
});
