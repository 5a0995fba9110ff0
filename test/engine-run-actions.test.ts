import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { CallLog } from '../src/agents/call-log.js';
import { type Agent, defineAgent } from '../src/agents/define.js';
import { agentRegistry, type EngineDeps } from '../src/engine/deps.js';
import { createEngine } from '../src/engine/engine.js';
import type { Engine, RunView } from '../src/engine/types.js';
import { type RunningWorkers, startWorkers } from '../src/engine/workers.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import { AlreadyDecided, InvalidInput, NonRetryable, NotFound } from '../src/errors.js';
import { type Store, zeroUsage } from '../src/store/models.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { closeEngineDeps, testEngineDeps } from './support/engine-deps.js';
import { waitFor } from './support/engine-harness.js';

/** Side effects each run's steps had, by run key: what a cancel must keep from happening and a retry from doubling. */
const effects = new Map<string, string[]>();
const did = (key: string, what: string) => effects.set(key, [...(effects.get(key) ?? []), what]);
const effectsOf = (key: string) => effects.get(key) ?? [];
/** Keys whose inline step, or whose agent, fails (NonRetryable) until the test repairs it. */
const brokenStep = new Set<string>();
const brokenAgent = new Set<string>();
/** Keys whose agent waits until the test lets it finish. */
const heldAgents = new Map<string, () => void>();

const echo = defineAgent({
  name: 'echo',
  instructions: 'Repeat the key you are given.',
  input: z.object({ key: z.string() }),
  output: z.object({ said: z.string() }),
});

/** A model that fails on demand, or holds an answer until told. */
const runner = {
  async run<I, O>(agent: Agent<I, O>, input: I, call: { runId: string; stepId: string; log?: CallLog }) {
    const { key } = input as { key: string };
    did(key, 'agent-call');
    if (brokenAgent.has(key)) {
      // A refusal after a costed call: what it spent must still count once a person retries the step.
      await call.log?.modelCall({
        runId: call.runId,
        stepId: call.stepId,
        agent: agent.name,
        model: 'test-model',
        turn: 1,
        status: 'error',
        error: 'refused',
        inputTokens: 7,
        outputTokens: 1,
        cachedTokens: 0,
        costUsd: 0.25,
        latencyMs: 3,
        at: new Date(),
      });
      throw new NonRetryable(`the model refused ${key}`);
    }
    if (key.startsWith('held')) await new Promise<void>((resolve) => heldAgents.set(key, resolve));
    return { output: { said: key } as O, usage: { ...zeroUsage(), inputTokens: 10 }, turns: 1 };
  },
};

/** Waits for a person, then replies: the reply must never go out once the run is cancelled. */
const gated = defineWorkflow({
  name: 'gated',
  input: z.object({ key: z.string() }),
  async run(ctx, { key }) {
    await ctx.step('prepare', async () => did(key, 'prepare'));
    const review = await ctx.checkpoint('review', {
      title: `review ${key}`,
      summary: 'a test gate',
      evidence: [],
      proposal: { outcome: 'pass' },
      editable: z.object({ note: z.string() }),
      values: { note: 'proposed' },
      approvers: { emails: ['a@x.io'] },
    });
    await ctx.step('send-reply', async () => did(key, `reply:${review.decision}`));
    return { decision: review.decision };
  },
});

/** An inline step or an agent that fails until repaired, between steps that must each run once. */
const fragile = defineWorkflow({
  name: 'fragile',
  input: z.object({ key: z.string(), via: z.enum(['step', 'agent']) }),
  async run(ctx, { key, via }) {
    await ctx.step('fetch', async () => did(key, 'fetch'));
    let said = key;
    if (via === 'step') {
      await ctx.step(
        'charge',
        async () => {
          did(key, 'charge-try');
          if (brokenStep.has(key)) throw new NonRetryable(`the bank refused ${key}`);
          return 'charged';
        },
        { attempts: 1 },
      );
    } else {
      said = (await ctx.agent(echo, { key })).said;
    }
    await ctx.step('finish', async () => did(key, 'finish'));
    return { said };
  },
});

let deps: EngineDeps;
let store: Store;
let engine: Engine;
let workers: RunningWorkers;
const told: string[] = [];

beforeAll(async () => {
  ({ deps } = await testEngineDeps({
    label: 'run-actions',
    workflows: [gated, fragile],
    agents: agentRegistry(echo),
    runner: () => runner,
    settings: { agentBackoffMs: 20 },
  }));
  store = deps.store;
  engine = createEngine(deps);
  workers = startWorkers(deps, {
    concurrency: 4,
    lockDurationMs: 5_000,
    channels: [
      {
        name: 'recorder',
        onCreated: async (cp) => void told.push(`created:${cp._id}`),
        onDecided: async (cp) => void told.push(`decided:${cp._id}:${cp.status}`),
      },
    ],
  });
});
afterAll(async () => {
  for (const release of heldAgents.values()) release();
  await workers?.close();
  if (deps) await closeEngineDeps(deps);
});

const until = (runId: string, what: string, ok: (run: RunView) => boolean) =>
  waitFor(`run ${runId}: ${what}`, async () => {
    const run = await engine.getRun(runId);
    return run && ok(run) ? run : null;
  });
const start = async (workflow: string, input: Record<string, unknown>) =>
  (await engine.startRun({ workflow, input, source: { channel: 'api' } })).runId;
const journalDocs = (runId: string, idPrefix: string) =>
  store.connection
    .collection('steps')
    .find({ runId, _id: { $in: [`${runId}/${idPrefix}`] } } as never)
    .toArray();
const decideApprove = (checkpointId: string) =>
  engine.decide({ checkpointId, decision: 'approve', actor: 'a@x.io', channel: 'api' });

describe('cancelling a run', () => {
  it('cancels a run waiting for a person: its checkpoint is cancelled, nothing after it runs, who is recorded', async () => {
    const key = 'cancel-waiting';
    const runId = await start('gated', { key });
    const waiting = await until(runId, 'waiting', (r) => r.checkpoints.some((c) => c.status === 'pending'));
    const cpId = waiting.checkpoints[0]?.id as string;

    const [first, second] = await Promise.all([
      engine.cancelRun({ runId, actor: 'admin@x.io', reason: 'customer withdrew' }),
      engine.cancelRun({ runId, actor: 'other@x.io' }),
    ]);
    expect(first).toEqual({ cancelled: true, status: 'cancelled' });
    expect(second).toEqual({ cancelled: true, status: 'cancelled' });
    // The checkpoint is cancelled before the call returns: nobody can decide it any more.
    expect((await engine.getCheckpoint(cpId))?.status).toBe('cancelled');
    await expect(decideApprove(cpId)).rejects.toBeInstanceOf(AlreadyDecided);

    const run = await until(runId, 'cancelled', (r) => r.status === 'cancelled');
    expect(run.error).toBeNull();
    expect(run.output).toBeNull();
    expect(run.checkpoints[0]?.status).toBe('cancelled');
    const auditLine = run.checkpoints[0]?.audit.find((a) => a.outcome === 'cancelled');
    expect(auditLine?.detail).toMatch(/cancelled/);
    expect(['admin@x.io', 'other@x.io']).toContain(auditLine?.actor);
    // One cancellation recorded, by whoever was first, and the pass sees it.
    const claims = await journalDocs(runId, '#claim-cancel');
    expect(claims).toHaveLength(1);
    const journal = await deps.engineStore.loadJournal(runId);
    expect(journal.cancelled?.actor).toBe((claims[0]?.intent as { actor?: string } | undefined)?.actor);
    // The channels are told (Slack's card then says it was cancelled).
    await waitFor('channels told', async () => told.includes(`decided:${cpId}:cancelled`));

    // Later: asking again changes nothing, and nothing after the checkpoint ever ran.
    expect(await engine.cancelRun({ runId, actor: 'admin@x.io' })).toEqual({ cancelled: false, status: 'cancelled' });
    await workers.reconcileNow();
    expect(effectsOf(key)).toEqual(['prepare']);
    expect((await engine.getRun(runId))?.steps.map((s) => s.id)).toEqual(['prepare', 'review']);
  });

  it('finishes, on the next click, a cancellation whose caller died before telling the channels', async () => {
    const key = 'cancel-died';
    const runId = await start('gated', { key });
    const waiting = await until(runId, 'waiting', (r) => r.checkpoints.some((c) => c.status === 'pending'));
    const cpId = waiting.checkpoints[0]?.id as string;
    // Where the first caller died: the claim and the checkpoint written, the channels not yet told.
    await deps.engineStore.append([
      { kind: 'claim', runId, key: 'cancel', at: new Date(), intent: { actor: 'admin@x.io', at: new Date() } },
    ]);
    await store.checkpoints.updateOne({ _id: cpId }, { $set: { status: 'cancelled' } });
    expect(told).not.toContain(`decided:${cpId}:cancelled`);

    expect(await engine.cancelRun({ runId, actor: 'other@x.io' })).toEqual({ cancelled: true, status: 'cancelled' });
    await waitFor('channels told', async () => told.includes(`decided:${cpId}:cancelled`));
    const run = await until(runId, 'cancelled', (r) => r.status === 'cancelled');
    expect(run.checkpoints[0]?.status).toBe('cancelled');
    // The first caller's cancellation stands, and the channel heard of it once.
    expect((await deps.engineStore.loadJournal(runId)).cancelled?.actor).toBe('admin@x.io');
    await workers.reconcileNow();
    expect(told.filter((t) => t === `decided:${cpId}:cancelled`)).toHaveLength(1);
    expect(effectsOf(key)).toEqual(['prepare']);
    // Had the run ended before that click, a click on the cancelled run tells the channels all the same.
    expect(await engine.cancelRun({ runId, actor: 'other@x.io' })).toEqual({ cancelled: false, status: 'cancelled' });
    await waitFor('told again', async () => told.filter((t) => t === `decided:${cpId}:cancelled`).length === 2);
  });

  it('leaves a finished run as it is', async () => {
    const key = 'cancel-finished';
    const runId = await start('gated', { key });
    const waiting = await until(runId, 'waiting', (r) => r.checkpoints.some((c) => c.status === 'pending'));
    await decideApprove(waiting.checkpoints[0]?.id as string);
    await until(runId, 'completed', (r) => r.status === 'completed');
    expect(await engine.cancelRun({ runId, actor: 'admin@x.io' })).toEqual({ cancelled: false, status: 'completed' });
    expect(await journalDocs(runId, '#claim-cancel')).toHaveLength(0);
    expect((await engine.getRun(runId))?.status).toBe('completed');
    expect(effectsOf(key)).toEqual(['prepare', 'reply:approve']);
  });

  it('lets an agent already at work finish, journaled, and runs nothing after it', async () => {
    const key = 'held-agent';
    const runId = await start('fragile', { key, via: 'agent' });
    await waitFor('the agent at work', async () => heldAgents.has(key));
    expect(await engine.cancelRun({ runId, actor: 'admin@x.io' })).toEqual({ cancelled: true, status: 'cancelled' });
    await until(runId, 'cancelled', (r) => r.status === 'cancelled');
    heldAgents.get(key)?.();
    const run = await until(runId, 'the agent journaled', (r) =>
      r.steps.some((s) => s.id === 'echo' && s.status === 'completed'),
    );
    expect(run.status).toBe('cancelled');
    await workers.reconcileNow();
    expect(effectsOf(key)).toEqual(['fetch', 'agent-call']);
    expect((await engine.getRun(runId))?.status).toBe('cancelled');
  });

  it('refuses a run that does not exist', async () => {
    await expect(engine.cancelRun({ runId: 'run_nope', actor: 'admin@x.io' })).rejects.toBeInstanceOf(NotFound);
  });
});

describe('retrying a failed step', () => {
  it('runs a failed inline step again once, however many clicks, and the run completes', async () => {
    const key = 'retry-inline';
    brokenStep.add(key);
    const runId = await start('fragile', { key, via: 'step' });
    const failed = await until(runId, 'failed', (r) => r.status === 'failed');
    expect(failed.error?.message).toContain('the bank refused');
    expect(failed.steps.find((s) => s.id === 'charge')).toMatchObject({ status: 'failed', attempts: 1 });
    await expect(engine.retryStep({ runId, stepId: 'fetch', actor: 'admin@x.io' })).rejects.toBeInstanceOf(
      InvalidInput,
    );
    await expect(engine.retryStep({ runId, stepId: 'nope', actor: 'admin@x.io' })).rejects.toBeInstanceOf(NotFound);

    brokenStep.delete(key);
    const answers = await Promise.all([
      engine.retryStep({ runId, stepId: 'charge', actor: 'admin@x.io', reason: 'bank is back' }),
      engine.retryStep({ runId, stepId: 'charge', actor: 'other@x.io' }),
    ]);
    expect(answers.filter((a) => a.retried)).toHaveLength(1);
    const run = await until(runId, 'completed', (r) => r.status === 'completed');
    expect(run.error).toBeNull();
    expect(run.output).toEqual({ said: key });
    // Steps before the failure ran once; the failed one twice (the failure, then the retry); the rest once.
    expect(effectsOf(key)).toEqual(['fetch', 'charge-try', 'charge-try', 'finish']);
    const charge = run.steps.find((s) => s.id === 'charge');
    expect(charge).toMatchObject({ status: 'completed', error: null });
    expect(charge?.retries).toHaveLength(1);
    expect(charge?.retries?.[0]).toMatchObject({ retry: 1, failed: { attempts: 1 } });
    expect(charge?.retries?.[0]?.failed.error?.message).toContain('the bank refused');
    expect(['admin@x.io', 'other@x.io']).toContain(charge?.retries?.[0]?.actor);
    await expect(engine.retryStep({ runId, stepId: 'charge', actor: 'admin@x.io' })).rejects.toBeInstanceOf(
      InvalidInput,
    );
  });

  it('dispatches a failed agent again under a new job, as often as people retry it, keeping each failure', async () => {
    const key = 'retry-agent';
    brokenAgent.add(key);
    const runId = await start('fragile', { key, via: 'agent' });
    await until(runId, 'failed', (r) => r.status === 'failed');
    // Still broken: the retry fails again, and the run with it.
    expect(await engine.retryStep({ runId, stepId: 'echo', actor: 'admin@x.io' })).toEqual({
      retried: true,
      status: 'running',
    });
    await waitFor('the second failure', async () => {
      const run = await engine.getRun(runId);
      return run?.status === 'failed' && effectsOf(key).filter((e) => e === 'agent-call').length === 2;
    });
    brokenAgent.delete(key);
    expect((await engine.retryStep({ runId, stepId: 'echo', actor: 'admin@x.io' })).retried).toBe(true);
    const run = await until(runId, 'completed', (r) => r.status === 'completed');
    expect(run.output).toEqual({ said: key });
    expect(effectsOf(key)).toEqual(['fetch', 'agent-call', 'agent-call', 'agent-call', 'finish']);
    const step = run.steps.find((s) => s.id === 'echo');
    expect(step).toMatchObject({ status: 'completed', error: null });
    expect(step?.retries?.map((r) => r.retry)).toEqual([1, 2]);
    expect(step?.retries?.every((r) => r.failed.error?.message.includes('the model refused'))).toBe(true);
    expect(step?.usage.inputTokens).toBe(10);
    // Each generation's end is its own record.
    for (const id of ['echo#end', 'echo#end-r1', 'echo#end-r2']) expect(await journalDocs(runId, id)).toHaveLength(1);
    // The two refused tries spent tokens and money: the run counts them, and its page lists their calls.
    expect(run.usage).toMatchObject({ inputTokens: 10 + 2 * 7, outputTokens: 2, costUsd: 0.5 });
    const detail = await engine.getRunDetail(runId);
    expect(detail?.usage.costUsd).toBe(0.5);
    // The run document (the runs list reads it) was written with the same sum by the pass that completed the run.
    expect((await store.runs.findById(runId).lean())?.usage).toMatchObject({ inputTokens: 24, costUsd: 0.5 });
    expect(detail?.modelCalls.map((m) => [m.status, m.replacedTry])).toEqual([
      ['error', 0],
      ['error', 1],
    ]);
  });

  it('refuses a step of a running run, and of a cancelled one', async () => {
    const key = 'retry-refused';
    const runId = await start('gated', { key });
    await until(runId, 'waiting', (r) => r.checkpoints.some((c) => c.status === 'pending'));
    await expect(engine.retryStep({ runId, stepId: 'prepare', actor: 'admin@x.io' })).rejects.toBeInstanceOf(
      InvalidInput,
    );
    await engine.cancelRun({ runId, actor: 'admin@x.io' });
    await expect(engine.retryStep({ runId, stepId: 'review', actor: 'admin@x.io' })).rejects.toThrow(/cancelled/);
    await expect(engine.retryStep({ runId: 'run_nope', stepId: 'x', actor: 'admin@x.io' })).rejects.toBeInstanceOf(
      NotFound,
    );
  });
});

describe('cancelling a card dispute in the real app', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'run-actions-app' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('never sends the customer the reply once the run waiting for its approval is cancelled', async () => {
    const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
    const { runId } = (await res.json()) as { runId: string };
    const waiting = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
    expect(waiting.status).toBe('waiting');
    const checkpointId = waiting.checkpoints[0]?.id ?? '';

    expect(await t.app.engine.cancelRun({ runId, actor: 'admin@example.com', reason: 'duplicate' })).toEqual({
      cancelled: true,
      status: 'cancelled',
    });
    const decision = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
      body: { decision: 'approve', actor: 'lead@example.com' },
    });
    expect(decision.status).toBe(409);
    const run = await t.waitForRun(runId, (r) => r.status === 'cancelled');
    expect(run.checkpoints[0]?.status).toBe('cancelled');
    expect(run.steps.every((s) => s.status !== 'failed')).toBe(true);
    const customer = SAMPLE_DISPUTES.needsReview.customerEmail.toLowerCase();
    expect(t.smtp.messages.filter((m) => m.to.includes(customer))).toHaveLength(0);
    expect(await t.app.outcomes.get(runId)).toBeFalsy();
  });
});
