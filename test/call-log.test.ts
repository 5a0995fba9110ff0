import { randomUUID } from 'node:crypto';
import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentAsTool } from '../src/agents/as-tool.js';
import { bufferedCallLog } from '../src/agents/call-log.js';
import { defineAgent, defineTool } from '../src/agents/define.js';
import { createAgentRunner } from '../src/agents/runtime.js';
import { openStore, type Store } from '../src/store/models.js';
import { testMongoUri } from './support/env.js';
import { completion, type ScriptedModel, startScriptedModel, status } from './support/scripted-model.js';

let store: Store;
let model: ScriptedModel;

beforeAll(async () => {
  store = await openStore(testMongoUri('calllog'));
});
afterAll(() => store.close());
beforeEach(async () => {
  model = await startScriptedModel();
});
afterEach(() => model.close());

// A frozen clock: latencies, durations and timestamps are equal across runs, so documents compare whole.
function runner() {
  return createAgentRunner({
    client: new OpenAI({ apiKey: 'test-key', baseURL: model.url, maxRetries: 0 }),
    defaultModel: 'offline',
    store,
    logger: pino({ level: 'silent' }),
    sleep: async () => {},
    now: () => 1_700_000_000_000,
  });
}

const getCharge = defineTool({
  name: 'get_charge',
  description: 'Looks up a card charge by id',
  input: z.object({ chargeId: z.string() }),
  run: async ({ chargeId }) => ({ chargeId, amount: 42 }),
});
const collector = defineAgent({
  name: 'evidence-collector',
  instructions: 'Collect evidence.',
  input: z.object({ chargeId: z.string() }),
  output: z.object({ found: z.boolean() }),
  tools: [getCharge],
});
const manager = defineAgent({
  name: 'dispute-manager',
  instructions: 'Decide.',
  input: z.object({ chargeId: z.string() }),
  output: z.object({ outcome: z.enum(['accept', 'reject']) }),
  tools: [agentAsTool(collector, { description: 'Collects evidence' })],
});

/** A retried 500, a tool call, an answer that fails the schema, then its repair. */
function scriptCollector(): void {
  model.push(
    status(500),
    completion({ toolCalls: [{ name: 'get_charge', arguments: { chargeId: 'ch_1' }, id: 'a' }] }),
    completion({ content: { found: 'yes' } }),
    completion({ content: { found: true } }),
  );
}

const stored = async (runId: string) => ({
  modelCalls: await store.modelCalls.find({ runId }).sort({ _id: 1 }).lean(),
  toolCalls: await store.toolCalls.find({ runId }).sort({ _id: 1 }).lean(),
});

/** What a reader compares: everything but the id the store or the buffer chose and the run it belongs to. */
function content<T extends { runId: string }>(docs: readonly T[]) {
  return docs.map((d) => {
    const { _id, runId, ...rest } = d as T & { _id?: unknown };
    return rest;
  });
}

describe('call log', () => {
  it('buffers every model and tool call document of a run and writes none to the store', async () => {
    const direct = randomUUID();
    scriptCollector();
    await runner().run(collector, { chargeId: 'ch_1' }, { runId: direct, stepId: 'collect' });
    const expected = await stored(direct);
    expect(expected.modelCalls.map((c) => [c.status, c.httpStatus, c.turn, c.outputIssues])).toEqual([
      ['error', 500, 1, undefined],
      ['ok', undefined, 1, undefined],
      ['ok', undefined, 2, expect.stringMatching(/found/)],
      ['ok', undefined, 3, undefined],
    ]);

    const buffered = randomUUID();
    const log = bufferedCallLog();
    scriptCollector();
    const result = await runner().run(collector, { chargeId: 'ch_1' }, { runId: buffered, stepId: 'collect', log });
    expect(result).toMatchObject({ output: { found: true }, turns: 3 });
    expect(await stored(buffered)).toEqual({ modelCalls: [], toolCalls: [] });
    expect(content(log.modelCalls())).toEqual(content(expected.modelCalls));
    expect(content(log.toolCalls())).toEqual(content(expected.toolCalls));
  });

  it('reads back in call order once the buffer is inserted', async () => {
    const runId = randomUUID();
    const log = bufferedCallLog();
    scriptCollector();
    await runner().run(collector, { chargeId: 'ch_1' }, { runId, stepId: 'collect', log });
    await store.modelCalls.insertMany(log.modelCalls());
    await store.toolCalls.insertMany(log.toolCalls());
    const back = await stored(runId);
    expect(back.modelCalls.map((c) => String(c._id))).toEqual(log.modelCalls().map((c) => String(c._id)));
    expect(content(back.modelCalls)).toEqual(content(log.modelCalls()));
    expect(content(back.toolCalls)).toEqual(content(log.toolCalls()));
  });

  it('puts the calls of an agent run as a tool in the same buffer', async () => {
    const runId = randomUUID();
    const log = bufferedCallLog();
    model.push(
      completion({ toolCalls: [{ name: 'evidence-collector', arguments: { chargeId: 'ch_1' }, id: 'n' }] }),
      completion({ content: { found: false } }),
      completion({ content: { outcome: 'reject' } }),
    );
    await runner().run(manager, { chargeId: 'ch_1' }, { runId, stepId: 'decide', log });
    expect(await stored(runId)).toEqual({ modelCalls: [], toolCalls: [] });
    expect(log.modelCalls().map((c) => [c.agent, c.turn])).toEqual([
      ['dispute-manager', 1],
      ['evidence-collector', 1],
      ['dispute-manager', 2],
    ]);
    expect(log.toolCalls()).toMatchObject([{ agent: 'dispute-manager', tool: 'evidence-collector', outcome: 'ok' }]);
  });
});
