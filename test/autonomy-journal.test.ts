import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { checkpointIdFor, jobId, stepDocId } from '../src/engine/ids.js';
import { type AutonomyRule, defineWorkflow } from '../src/engine/workflow.js';
import { agreementModel } from '../src/store/agreements.js';
import { createEngineStore } from '../src/store/engine-store.js';
import type { StepDoc } from '../src/store/models.js';
import { hasPendingCheckpoint, isFinished as isDone, startTestApp, type TestApp } from './support/app.js';
import { type EngineHarness, isFinished, isWaiting, startEngineHarness, waitFor } from './support/engine-harness.js';

/*
 * ctx.autonomy journals its verdict: the level in force (the workflow's own level, capped by the deployment-wide
 * ceiling) is read once, on first execution. A run waiting at the checkpoint the verdict sent it to keeps waiting
 * when the engine restarts with a higher ceiling.
 */

/** Small refunds stand from `assisted` up; this rule would even say yes under `manual` (the engine must not act). */
const smallRefunds: AutonomyRule<{ amount: number }> = ({ amount }) =>
  amount <= 100
    ? { auto: true, wouldAutoDecide: true, reason: `${amount} is within the limit of 100` }
    : { auto: false, wouldAutoDecide: false, reason: `${amount} is above the limit of 100` };

const editable = z.object({ decision: z.enum(['approve', 'deny']) });

const refundGate = defineWorkflow({
  name: 'journal-refund',
  input: z.object({ amount: z.number(), hold: z.string().optional() }),
  async run(ctx, { amount, hold }) {
    // Lets a test change the journal while the run waits, before the verdict is taken.
    if (hold) await ctx.waitForEvent('hold', { name: 'go', key: hold });
    const verdict = await ctx.autonomy('policy', {
      facts: { amount },
      rule: smallRefunds,
      checkpoint: 'review',
      agreement: { field: 'decision', agents: ['refund-advisor'], proposed: 'approve' },
    });
    if (verdict.auto) return { decidedBy: 'policy', level: verdict.level };
    const review = await ctx.checkpoint('review', {
      title: `Refund ${amount}`,
      summary: verdict.reason,
      evidence: [],
      proposal: { outcome: 'approve' },
      editable,
      values: { decision: 'approve' },
      approvers: { emails: ['lead@example.com'] },
      agreement: { field: 'decision', agents: ['refund-advisor'] },
    });
    return { decidedBy: review.actor, level: verdict.level };
  },
});

let h: EngineHarness;
beforeAll(async () => {
  h = await startEngineHarness('autojournal', [refundGate], { autonomyCeiling: 'manual' });
});
afterAll(async () => {
  await h?.close();
});

async function start(input: { amount: number; hold?: string }) {
  const { runId } = await h.engine.startRun({ workflow: 'journal-refund', input, source: { channel: 'api' } });
  return runId;
}
/** The verdict step as the engine sees it (the step with its end folded in). */
const verdictStep = async (runId: string): Promise<StepDoc | undefined> =>
  (await createEngineStore(h.store).loadJournal(runId)).steps.get('policy');

describe('ctx.autonomy', () => {
  it('keeps a run waiting at its checkpoint when the ceiling rises to autonomous before the next pass', async () => {
    const runId = await start({ amount: 40 });
    const waiting = await h.waitForRun(runId, isWaiting);
    expect(waiting.steps.find((s) => s.id === 'policy')).toMatchObject({ kind: 'autonomy', status: 'completed' });

    await h.restart({ autonomyCeiling: 'autonomous' });
    // A fresh run of the same workflow is now let through: the new ceiling is in force…
    const fresh = await h.waitForRun(await start({ amount: 40 }), isFinished);
    expect(fresh.output).toEqual({ decidedBy: 'policy', level: 'autonomous' });
    expect(fresh.checkpoints).toHaveLength(0);

    // …but the waiting run's next pass replays its journaled `manual` verdict and stays at the checkpoint.
    await h.deps.queues.enqueuePass(runId, 'after-restart');
    // The pass finds nothing new to do and writes nothing: the sign it ran is its job leaving the queue.
    await waitFor('another pass of the waiting run', async () => {
      const job = await h.deps.queues.runs.getJob(jobId(runId, 'after-restart'));
      return !job || (await job.isCompleted());
    });
    const still = await h.engine.getRun(runId);
    expect(still?.status).toBe('waiting');
    expect(still?.checkpoints).toMatchObject([{ name: 'review', status: 'pending' }]);
    expect((await verdictStep(runId))?.result).toMatchObject({ level: 'manual', auto: false, wouldAutoDecide: true });
    expect(await agreementModel(h.store).findById(checkpointIdFor(runId, 'review')).lean()).toBeNull();

    const cpId = still?.checkpoints[0]?.id ?? '';
    await h.engine.decide({ checkpointId: cpId, decision: 'approve', actor: 'lead@example.com', channel: 'api' });
    const done = await h.waitForRun(runId, isFinished);
    expect(done.output).toEqual({ decidedBy: 'lead@example.com', level: 'manual' });
    expect(await agreementModel(h.store).findById(cpId).lean()).toMatchObject({
      decidedBy: 'person',
      agreed: true,
      proposed: 'approve',
      final: 'approve',
    });
  });

  it("caps the ceiling at the workflow's own level from settings", async () => {
    await h.restart({ autonomyCeiling: 'autonomous', workflowAutonomy: { 'journal-refund': 'shadow' } });
    const runId = await start({ amount: 40 });
    await h.waitForRun(runId, isWaiting);
    expect((await verdictStep(runId))?.result).toMatchObject({
      level: 'shadow',
      auto: false,
      wouldAutoDecide: true,
      reason: '40 is within the limit of 100',
    });
  });

  it('lets nothing stand below assisted, even when the rule says yes', async () => {
    await h.restart({ autonomyCeiling: 'manual', workflowAutonomy: {} });
    const runId = await start({ amount: 1 });
    await h.waitForRun(runId, isWaiting);
    expect((await verdictStep(runId))?.result).toMatchObject({ level: 'manual', auto: false, wouldAutoDecide: true });
  });

  it('asks a person when the rule says no, at any level', async () => {
    await h.restart({ autonomyCeiling: 'autonomous', workflowAutonomy: {} });
    const runId = await start({ amount: 500 });
    await h.waitForRun(runId, isWaiting);
    expect((await verdictStep(runId))?.result).toMatchObject({ level: 'autonomous', auto: false });
  });

  it('records a proposal the policy let stand once, under the checkpoint it replaced', async () => {
    await h.restart({ autonomyCeiling: 'assisted', workflowAutonomy: {} });
    const runId = await start({ amount: 60 });
    const done = await h.waitForRun(runId, isFinished);
    expect(done.output).toEqual({ decidedBy: 'policy', level: 'assisted' });
    const records = await agreementModel(h.store).find({ runId }).lean();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      _id: checkpointIdFor(runId, 'review'),
      workflow: 'journal-refund',
      checkpoint: 'review',
      agents: ['refund-advisor'],
      field: 'decision',
      proposed: 'approve',
      final: 'approve',
      agreed: null,
      decidedBy: 'policy',
      channel: 'policy',
    });
  });

  it('never skips a checkpoint a run reached before its verdict was journaled (runs from older releases)', async () => {
    await h.restart({ autonomyCeiling: 'autonomous', workflowAutonomy: {} });
    const hold = `legacy-${Date.now()}`;
    const runId = await start({ amount: 40, hold });
    await waitFor('the run to wait for its event', async () => (await h.engine.getRun(runId))?.status === 'waiting');
    // What an older release journaled: the run already waits at `review`, and no verdict step exists.
    const at = new Date();
    await h.store.steps.create({
      _id: stepDocId(runId, 'review'),
      v: 2,
      runId,
      stepId: 'review',
      kind: 'checkpoint',
      name: 'review',
      status: 'waiting',
      attempts: 0,
      checkpointId: checkpointIdFor(runId, 'review'),
      usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 },
      seq: 99,
      createdAt: at,
      updatedAt: at,
    });
    await h.engine.sendEvent({ name: 'go', key: hold, payload: null });
    const verdict = await waitFor('the verdict', async () => (await verdictStep(runId))?.result);
    expect(verdict).toMatchObject({ level: 'autonomous', auto: false, reason: expect.stringContaining('a person') });
    expect((await h.engine.getRun(runId))?.output ?? null).toBeNull();
  });

  it('finishes a verdict a crashed pass journaled but did not record, with the journaled verdict', async () => {
    // The ceiling is `manual` now; the journal says what an `assisted` pass decided before it died: the verdict
    // inserted (still `running`), the agreement record not yet written.
    await h.restart({ autonomyCeiling: 'manual', workflowAutonomy: {} });
    const hold = `crash-${Date.now()}`;
    const runId = await start({ amount: 60, hold });
    await waitFor('the run to wait for its event', async () => (await h.engine.getRun(runId))?.status === 'waiting');
    const at = new Date();
    await h.store.steps.create({
      _id: stepDocId(runId, 'policy'),
      v: 2,
      runId,
      stepId: 'policy',
      kind: 'autonomy',
      name: 'policy',
      status: 'running',
      attempts: 0,
      input: { amount: 60 },
      result: { level: 'assisted', auto: true, wouldAutoDecide: true, reason: 'within', decidedAt: at },
      usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 },
      seq: 99,
      createdAt: at,
      updatedAt: at,
    });
    await h.engine.sendEvent({ name: 'go', key: hold, payload: null });
    const done = await h.waitForRun(runId, isFinished);
    expect(done.output).toEqual({ decidedBy: 'policy', level: 'assisted' });
    expect(await verdictStep(runId)).toMatchObject({ status: 'completed' });
    const records = await agreementModel(h.store).find({ runId }).lean();
    expect(records).toHaveLength(1);
    expect(records[0]?.decidedAt).toEqual(at);
  });
});

describe('the per-workflow level from COUNTERSIGN_CONFIG', () => {
  let t: TestApp;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'countersign-autonomy-'));
    const path = join(dir, 'countersign.json');
    writeFileSync(path, JSON.stringify({ workflows: { 'card-dispute': { autonomy: 'shadow' } } }));
    t = await startTestApp({ label: 'autoconfig', env: { AUTONOMY: 'autonomous', COUNTERSIGN_CONFIG: path } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('holds a clear-cut dispute for a person under an autonomous AUTONOMY', async () => {
    const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.clearAccept);
    const { runId } = (await res.json()) as { runId: string };
    const run = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isDone(r), 120_000);
    expect(run.status).toBe('waiting');
    expect((await t.app.store.steps.findById(stepDocId(runId, 'autonomy')).lean())?.result).toMatchObject({
      level: 'shadow',
      auto: false,
      wouldAutoDecide: true,
    });
  });
});
