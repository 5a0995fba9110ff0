import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAgent } from '../src/agents/define.js';
import { createAgentRunner } from '../src/agents/runtime.js';
import { agentRegistry, type EngineDeps } from '../src/engine/deps.js';
import { createEngine } from '../src/engine/engine.js';
import type { Engine, RunView } from '../src/engine/types.js';
import { type RunningWorkers, startWorkers } from '../src/engine/workers.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import { NonRetryable } from '../src/errors.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import type { Store } from '../src/store/models.js';
import { closeEngineDeps, testEngineDeps } from './support/engine-deps.js';

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

const gateEditable = z.object({ note: z.string().min(3) });
const gate = defineWorkflow({
  name: 'gate',
  input: z.object({ mode: z.enum(['quorum', 'timers', 'timeout-reject', 'event']), key: z.string() }),
  async run(ctx, { mode, key }) {
    if (mode === 'event') {
      const first = await ctx.waitForEvent<{ text: string }>('first-reply', { name: 'reply', key });
      const second = await ctx.waitForEvent<{ text: string }>('second-reply', {
        name: 'reply',
        key,
        timeoutMs: 60_000,
      });
      return { first: first?.text ?? null, second: second?.text ?? null };
    }
    const review = await ctx.checkpoint('review', {
      title: `gate ${mode}`,
      summary: 'a test gate',
      evidence: [],
      proposal: { outcome: 'pass' },
      editable: gateEditable,
      values: { note: 'proposed' },
      approvers: { emails: ['a@x.io', 'b@x.io', 'c@x.io', 'd@x.io', 'e@x.io'] },
      ...(mode === 'quorum' ? { quorum: { mode: 'count' as const, required: 3 } } : {}),
      ...(mode === 'timers'
        ? {
            reminders: { everyMs: 60_000, max: 2 },
            timeout: { afterMs: 600_000, action: 'escalate' as const, escalateTo: { emails: ['boss@x.io'] } },
          }
        : {}),
      ...(mode === 'timeout-reject' ? { timeout: { afterMs: 600_000, action: 'reject' as const } } : {}),
    });
    return { decision: review.decision, note: review.values.note, actor: review.actor };
  },
});

/** Everything channels were told, in order. */
const told: string[] = [];
/** What the channel that fails each first attempt was told, once it succeeded. */
const flakyTold: string[] = [];
const flakyTries = new Map<string, number>();
/** Fails the first time it hears of anything, like an SMTP server that is down for a moment. */
function refuseFirst(what: string): Promise<void> {
  const tries = (flakyTries.get(what) ?? 0) + 1;
  flakyTries.set(what, tries);
  if (tries === 1) return Promise.reject(new Error(`flaky channel refused ${what}`));
  flakyTold.push(what);
  return Promise.resolve();
}
/** Moves the engine's clock forward (reminders and timeouts fall due). */
let advanceClock: (ms: number) => void;

let store: Store;
let model: OfflineModel;
let deps: EngineDeps;
let engine: Engine;
let workers: RunningWorkers;

beforeAll(async () => {
  model = await startOfflineModel({
    latencyMs: 0,
    responders: [{ agent: 'echo', respond: ({ input }) => ({ output: { said: (input as { word: string }).word } }) }],
  });
  const client = new OpenAI({ apiKey: 'offline', baseURL: model.baseUrl, maxRetries: 0 });
  ({ deps, advance: advanceClock } = await testEngineDeps({
    label: 'engine',
    workflows: [probe, gate],
    agents: agentRegistry(echo),
    runner: ({ store, logger }) => createAgentRunner({ client, defaultModel: 'offline', store, logger }),
    settings: { agentBackoffMs: 50 },
  }));
  store = deps.store;
  engine = createEngine(deps);
  workers = startWorkers(deps, {
    concurrency: 4,
    lockDurationMs: 5_000,
    channels: [
      // First in the list: its failures must hold back neither the recorder nor its own later events.
      {
        name: 'flaky',
        onCreated: (cp) => refuseFirst(`created:${cp._id}`),
        onDecided: (cp) => refuseFirst(`decided:${cp._id}:${cp.status}`),
        onReminder: (cp, n) => refuseFirst(`reminder:${cp._id}:${n}`),
        onEscalated: (cp) => refuseFirst(`escalated:${cp._id}`),
      },
      {
        name: 'recorder',
        onCreated: async (cp) => void told.push(`created:${cp._id}`),
        onDecided: async (cp) => void told.push(`decided:${cp._id}:${cp.status}`),
        onProgress: async (cp) => void told.push(`progress:${cp._id}:${cp.approvals.length}`),
        onReminder: async (cp, n) => void told.push(`reminder:${cp._id}:${n}`),
        onEscalated: async (cp) => void told.push(`escalated:${cp._id}`),
      },
    ],
  });
});
afterAll(async () => {
  await workers?.close();
  if (deps) await closeEngineDeps(deps);
  await model?.close();
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
    // Each pass leaves its lease record in the journal.
    const passes = await store.steps.collection.countDocuments({ runId, kind: 'pass' });
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

async function waiting(runId: string) {
  for (let i = 0; i < 400; i++) {
    const run = await engine.getRun(runId);
    if (run?.status === 'waiting') return run;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`run ${runId} never waited`);
}

async function until(what: () => boolean | Promise<boolean>) {
  for (let i = 0; i < 400; i++) {
    if (await what()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('condition never held');
}

describe('human checkpoints', () => {
  it('counts approvals toward a 3-of-5 quorum and resumes on the third', async () => {
    const { runId } = await engine.startRun({
      workflow: 'gate',
      input: { mode: 'quorum', key: 'q' },
      source: { channel: 'api' },
    });
    const cpId = (await waiting(runId)).checkpoints[0]?.id ?? '';
    const first = await engine.decide({ checkpointId: cpId, decision: 'approve', actor: 'a@x.io', channel: 'link' });
    expect(first).toMatchObject({ status: 'pending', approvals: [{ actor: 'a@x.io' }] });
    await expect(
      engine.decide({ checkpointId: cpId, decision: 'approve', actor: 'A@x.io', channel: 'link' }),
    ).rejects.toThrow(/already approved/);
    await engine.decide({
      checkpointId: cpId,
      decision: 'approve',
      actor: 'b@x.io',
      channel: 'link',
      edits: { note: 'edited by b' },
    });
    await expect(
      engine.decide({ checkpointId: cpId, decision: 'approve', actor: 'z@x.io', channel: 'link' }),
    ).rejects.toMatchObject({
      code: 'not_authorized',
    });
    const third = await engine.decide({ checkpointId: cpId, decision: 'approve', actor: 'c@x.io', channel: 'link' });
    expect(third.status).toBe('approved');
    expect(third.decision?.diff).toEqual([{ field: 'note', before: 'proposed', after: 'edited by b' }]);
    const run = await finished(runId);
    expect(run.output).toEqual({ decision: 'approve', note: 'edited by b', actor: 'c@x.io' });
    await until(() => told.includes(`progress:${cpId}:2`) && told.includes(`decided:${cpId}:approved`));
  });

  it('reminds, then escalates once on a fake clock', async () => {
    const { runId } = await engine.startRun({
      workflow: 'gate',
      input: { mode: 'timers', key: 't' },
      source: { channel: 'api' },
    });
    const cpId = (await waiting(runId)).checkpoints[0]?.id ?? '';
    advanceClock(61_000);
    await workers.reconcileNow();
    await until(() => told.includes(`reminder:${cpId}:1`));
    advanceClock(61_000);
    await workers.reconcileNow();
    await until(() => told.includes(`reminder:${cpId}:2`));
    advanceClock(600_000);
    await workers.reconcileNow();
    await workers.reconcileNow();
    await until(() => told.includes(`escalated:${cpId}`));
    expect(told.filter((t) => t === `escalated:${cpId}`)).toHaveLength(1);
    expect(told.filter((t) => t.startsWith(`reminder:${cpId}`))).toHaveLength(2);
    // The channel that failed each first attempt got every due event on its retry, each once.
    await until(() => flakyTold.includes(`escalated:${cpId}`) && flakyTold.includes(`reminder:${cpId}:2`));
    expect(flakyTold.filter((t) => t.startsWith(`reminder:${cpId}`))).toEqual([
      `reminder:${cpId}:1`,
      `reminder:${cpId}:2`,
    ]);
    const cp = await engine.getCheckpoint(cpId);
    expect(cp?.approvers.emails).toContain('boss@x.io');
    expect(cp?.status).toBe('pending');
    await engine.decide({ checkpointId: cpId, decision: 'approve', actor: 'boss@x.io', channel: 'link' });
    expect((await finished(runId)).status).toBe('completed');
  });

  it('takes the timeout path exactly once when it rejects', async () => {
    const { runId } = await engine.startRun({
      workflow: 'gate',
      input: { mode: 'timeout-reject', key: 'r' },
      source: { channel: 'api' },
    });
    const cpId = (await waiting(runId)).checkpoints[0]?.id ?? '';
    advanceClock(601_000);
    await Promise.all([workers.reconcileNow(), workers.reconcileNow()]);
    const run = await finished(runId);
    expect(run.output).toMatchObject({ decision: 'reject', actor: 'timeout' });
    const cp = await engine.getCheckpoint(cpId);
    expect(cp?.decision?.channel).toBe('timeout');
  });
});

describe('events', () => {
  it('delivers an event sent before the wait and one sent during it, each once', async () => {
    const key = `thread-${Date.now()}`;
    const { runId } = await engine.startRun({
      workflow: 'gate',
      input: { mode: 'event', key },
      source: { channel: 'api' },
    });
    await engine.sendEvent({ name: 'reply', key, payload: { text: 'early' } });
    await until(async () => (await store.steps.findById(`${runId}/second-reply`).lean())?.status === 'waiting');
    expect(await engine.sendEvent({ name: 'reply', key, payload: { text: 'later' } })).toEqual({ delivered: 1 });
    const run = await finished(runId);
    expect(run.output).toEqual({ first: 'early', second: 'later' });
  });
});
