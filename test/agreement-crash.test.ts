import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { checkpointIdFor, stepDocId } from '../src/engine/ids.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import { type AgreementDoc, agreementModel } from '../src/store/agreements.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { killedBy, stopWorker, workerProcesses } from './support/worker-process.js';

/*
 * Agreement records are exactly once across a worker killed with SIGKILL at the worst moment: after the record was
 * written and before the step that carries it was completed. The next worker replays to the same point and the
 * unique insert changes nothing.
 */

let t: TestApp;
let model: OfflineModel;
// The app's environment already points at the offline model (`env` below).
const workers = workerProcesses(() => t.env);

beforeAll(async () => {
  model = await startOfflineModel({ latencyMs: 50, responders: disputeResponders() });
  // `assisted`: the clear-cut duplicate stands by policy, a case the manager sends to review waits for a person.
  t = await startTestApp({
    label: 'agreecrash',
    workers: false,
    env: { AUTONOMY: 'assisted', OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'offline', OPENAI_MODEL: 'offline' },
  });
});
afterAll(async () => {
  workers.killAll();
  await t?.close();
  await model?.close();
});

/** The clear-cut duplicate keeps its own customer: the duplicate charge is found in that customer's history. */
async function start(sample: keyof typeof SAMPLE_DISPUTES, customerEmail?: string) {
  const res = await t.webhook('card-dispute', {
    ...SAMPLE_DISPUTES[sample],
    ...(customerEmail ? { customerEmail } : {}),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

const recordsOf = (runId: string) => agreementModel(t.app.store).find({ runId }).lean<AgreementDoc[]>();

describe('a worker killed with SIGKILL', () => {
  it('after the agreement record of a decision was written: one record, the run finishes', {
    timeout: 180_000,
  }, async () => {
    const runId = await start('needsReview', 'crash-agreement@example.com');
    const doomed = workers.start('after-agreement:review');
    const run = await t.waitForRun(runId, hasPendingCheckpoint, 90_000);
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const res = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
      body: { decision: 'approve', actor: 'lead@example.com' },
    });
    expect(res.status).toBe(200);
    expect(await killedBy(doomed)).toBe('SIGKILL');
    // Killed between the two writes: the record exists, the checkpoint step still waits.
    expect(await recordsOf(runId)).toHaveLength(1);
    expect((await t.app.store.steps.findById(stepDocId(runId, 'review')).lean())?.status).toBe('waiting');

    const survivor = workers.start();
    const done = await t.waitForRun(runId, isFinished, 90_000);
    await stopWorker(survivor);
    expect(done.status).toBe('completed');
    const records = await recordsOf(runId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      _id: checkpointId,
      workflow: 'card-dispute',
      checkpoint: 'review',
      field: 'outcome',
      decidedBy: 'person',
      actor: 'lead@example.com',
    });
    expect(records[0]?.agents).toContain('dispute-manager');
  });

  it('after the policy verdict was journaled: one policy record, the same verdict', { timeout: 180_000 }, async () => {
    const runId = await start('clearAccept');
    const doomed = workers.start('after-verdict:autonomy');
    // Fails fast (instead of timing out) if the policy did not let the proposal stand.
    const settled = await Promise.race([
      killedBy(doomed),
      t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r), 90_000).then((r) => r.status),
    ]);
    expect(settled).toBe('SIGKILL');
    const verdict = await t.app.store.steps.findById(stepDocId(runId, 'autonomy')).lean();
    expect(verdict).toMatchObject({ status: 'running', result: { level: 'assisted', auto: true } });
    expect(await recordsOf(runId)).toHaveLength(0);

    const survivor = workers.start();
    const done = await t.waitForRun(runId, isFinished, 90_000);
    await stopWorker(survivor);
    expect(done.output).toMatchObject({ outcome: 'accept', decidedBy: 'policy' });
    const records = await recordsOf(runId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      _id: checkpointIdFor(runId, 'review'),
      decidedBy: 'policy',
      proposed: 'accept',
      agreed: null,
    });
    expect((await t.app.store.steps.findById(stepDocId(runId, 'autonomy')).lean())?.result).toEqual(verdict?.result);
  });
});
