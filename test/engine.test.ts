import OpenAI from 'openai';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agents/define.js';
import { createAgentRunner } from '../src/agents/runtime.js';
import { agentRegistry, defaultSettings, type EngineDeps } from '../src/engine/deps.js';
import { createEngine } from '../src/engine/engine.js';
import { noFailpoints } from '../src/engine/failpoints.js';
import { createQueues, redisConnection } from '../src/engine/queues.js';
import type { Engine, RunView } from '../src/engine/types.js';
import { type RunningWorkers, startWorkers } from '../src/engine/workers.js';
import { defineWorkflow, workflowRegistry } from '../src/engine/workflow.js';
import { NonRetryable } from '../src/errors.js';
import { createMetrics } from '../src/metrics.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import { openStore, type Store } from '../src/store/models.js';
import { redisUrl, testMongoUri, uniquePrefix } from './support/env.js';

const echo = defineAgent({
  name: 'echo',
  instructions: 'Repeat the word you are given.',
  input: z.object({ word: z.string() }),
  output: z.object({ said: z.string() }),
});

/** Counts real executions of each step, across passes, to prove replays do not re-run them. */
const executions = new Map<string, number>();
const count = (key: string) => executions.set(key, (executions.get(key) ?? 0) + 1);
let flaky = 0;

const probe = defineWorkflow({
  name: 'probe',
  input: z.object({ mode: z.enum(['happy', 'retry', 'broken', 'duplicate', 'permanent']) }),
  async run(ctx, { mode }) {
    const at = await ctx.now();
    const id = await ctx.id();
    const said = await ctx.agent(echo, { word: `hello-${mode}` });
    if (mode === 'duplicate') {
      await ctx.step('same', async () => 1);
      await ctx.step('same', async () => 2);
    }
    if (mode === 'retry') {
      await ctx.step(
        'flaky',
        async () => {
          flaky++;
          if (flaky < 3) throw new Error(`flaky failure ${flaky}`);
          return flaky;
        },
        { attempts: 5, backoffMs: 50 },
      );
    }
    if (mode === 'broken')
      await ctx.step('always-fails', async () => Promise.reject(new Error('boom')), { attempts: 2, backoffMs: 20 });
    if (mode === 'permanent') await ctx.step('refused', async () => Promise.reject(new NonRetryable('no retry')));
    await ctx.sleep('nap', 200);
    const side = await ctx.step(`side-effect`, async ({ idempotencyKey }) => {
      count(idempotencyKey);
      return { key: idempotencyKey };
    });
    return { at: at.toISOString(), id, said: said.said, side };
  },
});

let store: Store;
let model: OfflineModel;
let deps: EngineDeps;
let engine: Engine;
let workers: RunningWorkers;

beforeAll(async () => {
  store = await openStore(testMongoUri('engine'));
  model = await startOfflineModel({
    latencyMs: 0,
    responders: [{ agent: 'echo', respond: ({ input }) => ({ output: { said: (input as { word: string }).word } }) }],
  });
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const metrics = createMetrics();
  const client = new OpenAI({ apiKey: 'offline', baseURL: model.baseUrl, maxRetries: 0 });
  deps = {
    store,
    queues: createQueues(redisConnection(redisUrl()), uniquePrefix('engine')),
    workflows: workflowRegistry(probe),
    agents: agentRegistry(echo),
    runner: createAgentRunner({ client, defaultModel: 'offline', store, logger }),
    clock: { now: () => new Date() },
    logger,
    metrics,
    failpoints: noFailpoints,
    settings: { ...defaultSettings, leaseMs: 2_000, reconcileIntervalMs: 60_000, agentBackoffMs: 50 },
  };
  engine = createEngine(deps);
  workers = startWorkers(deps, { concurrency: 4, lockDurationMs: 5_000, channels: [] });
});
afterAll(async () => {
  await workers?.close();
  await deps?.queues.close();
  await deps?.queues.connection.quit();
  await model?.close();
  await store?.close();
});

async function finished(runId: string): Promise<RunView> {
  for (let i = 0; i < 400; i++) {
    const run = await engine.getRun(runId);
    if (run && ['completed', 'failed'].includes(run.status)) return run;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`run ${runId} did not finish`);
}

describe('the durable engine', () => {
  it('replays journaled steps instead of running them again, across passes', async () => {
    const { runId } = await engine.startRun({
      workflow: 'probe',
      input: { mode: 'happy' },
      source: { channel: 'api' },
    });
    const run = await finished(runId);
    expect(run.status).toBe('completed');
    const output = run.output as { said: string; side: { key: string } };
    expect(output.said).toBe('hello-happy');
    expect(executions.get(output.side.key)).toBe(1);
    const passes = (await store.runs.findById(runId).lean())?.passes ?? 0;
    expect(passes).toBeGreaterThanOrEqual(3);
    expect(run.steps.map((s) => s.kind)).toEqual(['agent', 'sleep', 'step']);
  });

  it('keeps now() and id() as first recorded', async () => {
    const { runId } = await engine.startRun({
      workflow: 'probe',
      input: { mode: 'happy' },
      source: { channel: 'api' },
    });
    const run = await finished(runId);
    const steps = await store.steps.find({ runId, kind: { $in: ['now', 'id'] } }).lean();
    const output = run.output as { at: string; id: string };
    expect(steps.find((s) => s.kind === 'now')?.result).toBe(output.at);
    expect(steps.find((s) => s.kind === 'id')?.result).toBe(output.id);
  });

  it('retries a failing step with backoff and goes on when it succeeds', async () => {
    const { runId } = await engine.startRun({
      workflow: 'probe',
      input: { mode: 'retry' },
      source: { channel: 'api' },
    });
    const run = await finished(runId);
    expect(run.status).toBe('completed');
    expect(run.steps.find((s) => s.id === 'flaky')).toMatchObject({ status: 'completed', attempts: 3 });
  });

  it('fails the run visibly when a step keeps failing, keeping the error', async () => {
    const { runId } = await engine.startRun({
      workflow: 'probe',
      input: { mode: 'broken' },
      source: { channel: 'api' },
    });
    const run = await finished(runId);
    expect(run.status).toBe('failed');
    expect(run.error?.message).toContain('always-fails');
    expect(run.error?.message).toContain('boom');
    expect(run.steps.find((s) => s.id === 'always-fails')).toMatchObject({ status: 'failed', attempts: 2 });
  });

  it('does not retry a NonRetryable failure', async () => {
    const { runId } = await engine.startRun({
      workflow: 'probe',
      input: { mode: 'permanent' },
      source: { channel: 'api' },
    });
    const run = await finished(runId);
    expect(run.status).toBe('failed');
    expect(run.steps.find((s) => s.id === 'refused')).toMatchObject({ status: 'failed', attempts: 1 });
  });

  it('fails a run whose workflow uses one step id twice', async () => {
    const { runId } = await engine.startRun({
      workflow: 'probe',
      input: { mode: 'duplicate' },
      source: { channel: 'api' },
    });
    const run = await finished(runId);
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/used twice/);
  });

  it('collapses a start with the same idempotency key into one run', async () => {
    const req = {
      workflow: 'probe',
      input: { mode: 'happy' },
      idempotencyKey: 'same-event',
      source: { channel: 'api' as const },
    };
    const results = await Promise.all(Array.from({ length: 5 }, () => engine.startRun(req)));
    expect(new Set(results.map((r) => r.runId)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    await finished(results[0]?.runId ?? '');
  });

  it('rejects input that does not match the workflow schema, storing nothing', async () => {
    const before = await store.runs.countDocuments();
    await expect(
      engine.startRun({ workflow: 'probe', input: { mode: 'nope' }, source: { channel: 'api' } }),
    ).rejects.toMatchObject({
      code: 'invalid_input',
    });
    expect(await store.runs.countDocuments()).toBe(before);
  });
});
