import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agents/define.js';
import { createProvider, providersFromSettings } from '../src/agents/providers.js';
import { createAgentRunner } from '../src/agents/runtime.js';
import { NonRetryable } from '../src/errors.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import { openStore, type Store } from '../src/store/models.js';
import { chatCompletion, type MockLlm, startMockLlm } from './support/mock-llm.js';

// An agent run through an OpenAI-compatible server nobody on this project wrote (@dwmkerr/mock-llm, from npm),
// configured as a named provider beside the default one, the way an operator would configure it.

const analyst = defineAgent({
  name: 'language-analyst',
  instructions: 'Classify the tone of the message.',
  input: z.object({ description: z.string() }),
  output: z.object({ tone: z.enum(['calm', 'angry']), summary: z.string() }),
});
const answer = { tone: 'angry', summary: 'demands the money back today' };
const input = { description: 'Refund me NOW.' };

const COMPLETIONS = '/v1/chat/completions';
// The words this server answers with when asked for structured outputs: not OpenAI's, an operator's own config.
const REFUSED_SCHEMA = 'response_format json_schema is not supported by this server';
const refuseJsonSchema = {
  path: COMPLETIONS,
  method: 'POST',
  match: "body.response_format.type == 'json_schema'",
  response: {
    status: 400,
    content: JSON.stringify({
      error: { message: REFUSED_SCHEMA, type: 'invalid_request_error', param: 'response_format', code: null },
    }),
  },
};
const inJsonMode = "body.response_format.type == 'json_object'";
const toAnswerTool = "body.tool_choice.function.name == 'final_answer'";
const contentAnswer = (value: unknown) => ({
  status: 200,
  content: chatCompletion({ content: JSON.stringify(value) }),
});
const toolAnswer = (value: unknown) => ({
  status: 200,
  content: chatCompletion(
    {
      content: null,
      tool_calls: [
        { id: 'call_mock_1', type: 'function', function: { name: 'final_answer', arguments: JSON.stringify(value) } },
      ],
    },
    'tool_calls',
  ),
});

let store: Store;
let mock: MockLlm;
let offline: OfflineModel;
let runId: string;
let warnings: { msg: string; provider?: string; server?: string }[];

beforeAll(async () => {
  store = await openStore('mongodb://127.0.0.1:27027/thirdpartymodeltest');
  mock = await startMockLlm();
  offline = await startOfflineModel({ latencyMs: 0, responders: [] });
}, 60_000);
afterAll(async () => {
  await mock?.close();
  await offline?.close();
  await store?.close();
});
beforeEach(() => {
  runId = randomUUID();
  warnings = [];
});

/** The default provider is the offline model; `language-analyst` is sent to `mock-llm` by the chooser. */
function runner(supports?: { strictJsonSchema?: boolean; jsonMode?: boolean; tools?: boolean }) {
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line)) });
  const providers = providersFromSettings(
    { 'mock-llm': { baseUrl: mock.baseUrl, apiKeyEnv: 'MOCK_LLM_KEY', ...(supports ? { supports } : {}) } },
    { MOCK_LLM_KEY: 'sk-mock' },
  );
  return createAgentRunner({
    defaultProvider: createProvider({ name: 'default', baseUrl: offline.baseUrl }),
    defaultModel: 'offline',
    providers,
    chooseModel: (agent) => (agent === 'language-analyst' ? { provider: 'mock-llm', model: 'mock-7b' } : undefined),
    store,
    logger,
    sleep: async () => {},
  });
}
const call = () => ({ runId, stepId: 'analyse', workflow: 'refund-request' });
const modelCalls = () => store.modelCalls.find({ runId }).sort({ _id: 1 }).lean();

describe('an agent on @dwmkerr/mock-llm', () => {
  it('hears the server refuse strict schemas in its own words, downgrades to JSON mode and validates', async () => {
    await mock.setRules([
      refuseJsonSchema,
      { path: COMPLETIONS, method: 'POST', match: inJsonMode, response: contentAnswer(answer) },
    ]);
    const result = await runner().run(analyst, input, call());
    expect(result.output).toEqual(answer);
    expect(result.usage).toMatchObject({ inputTokens: 50, outputTokens: 12 });
    expect(await modelCalls()).toMatchObject([
      { provider: 'mock-llm', model: 'mock-7b', outputMode: 'json_schema', httpStatus: 400 },
      // the model name is the server's echo of the request, through its own templating
      { provider: 'mock-llm', model: 'mock-7b', outputMode: 'json_object', status: 'ok' },
    ]);
    expect((await modelCalls())[0]?.error).toContain(REFUSED_SCHEMA);
    expect(warnings.filter((w) => w.msg.includes('refused an output mode'))).toMatchObject([
      { provider: 'mock-llm', server: expect.stringContaining(REFUSED_SCHEMA) },
    ]);
  });

  it('gets the answer as a forced tool call when the provider declares only tools', async () => {
    await mock.setRules([{ path: COMPLETIONS, method: 'POST', match: toAnswerTool, response: toolAnswer(answer) }]);
    const result = await runner({ strictJsonSchema: false, jsonMode: false }).run(analyst, input, call());
    expect(result.output).toEqual(answer);
    expect(await modelCalls()).toMatchObject([{ outputMode: 'tool_call', status: 'ok' }]);
  });

  it('repairs a wrong first answer on the next turn (the server answers in sequence)', async () => {
    await mock.setRules([
      {
        path: COMPLETIONS,
        method: 'POST',
        match: inJsonMode,
        sequence: 0,
        response: contentAnswer({ tone: 'livid', summary: answer.summary }),
      },
      { path: COMPLETIONS, method: 'POST', match: inJsonMode, sequence: 1, response: contentAnswer(answer) },
    ]);
    const result = await runner({ strictJsonSchema: false }).run(analyst, input, call());
    expect(result).toMatchObject({ output: answer, turns: 2 });
    expect((await modelCalls()).map((c) => c.outputIssues)).toEqual([expect.stringMatching(/^tone: /), undefined]);
  });

  it('fails the step visibly when the output stays invalid, quoting the server', async () => {
    await mock.setRules([
      { path: COMPLETIONS, method: 'POST', match: inJsonMode, response: contentAnswer({ tone: 'calm' }) },
    ]);
    const err = await runner({ strictJsonSchema: false })
      .run(analyst, input, call())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryable);
    expect((err as Error).message).toBe(
      'language-analyst returned output that does not match its schema: summary: Invalid input: expected string, received undefined' +
        ' (provider mock-llm, model mock-7b, output mode json_object; the server answered: "{\\"tone\\":\\"calm\\"}")',
    );
    expect(await modelCalls()).toHaveLength(2);
  });

  it('fails without downgrading on an error that is not about a feature', async () => {
    await mock.setRules([
      {
        path: COMPLETIONS,
        method: 'POST',
        response: {
          status: 401,
          content: JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } }),
        },
      },
    ]);
    const err = await runner()
      .run(analyst, input, call())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonRetryable);
    expect((err as Error).message).toMatch(
      /^model call for agent language-analyst failed \(provider mock-llm, model mock-7b\): 401 Incorrect API key/,
    );
    expect(await modelCalls()).toHaveLength(1);
  });
});
