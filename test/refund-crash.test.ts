import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingStandin } from '../agents/refunds/billing/standin.js';
import { refundResponders } from '../agents/refunds/offline-rules.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import type { RefundRequestOutput } from '../agents/refunds/workflow.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { refundDeployment, startSampleBilling, writeSettingsFile } from './support/refund-app.js';
import { killedBy, stopWorker, workerProcesses } from './support/worker-process.js';

let t: TestApp;
let model: OfflineModel;
let billing: BillingStandin;
/** Real `countersign worker` processes (compose.ts's modules), paying through the stand-in. */
const workers = workerProcesses(() => ({
  ...t.env,
  BILLING_API_URL: billing.baseUrl,
  BILLING_API_KEY: billing.apiKey,
}));

beforeAll(async () => {
  billing = await startSampleBilling();
  model = await startOfflineModel({ latencyMs: 50, responders: refundResponders() });
  const configPath = writeSettingsFile('refund-crash', {
    groups: { leads: ['lead@larkspur.test'], finance: ['fin@larkspur.test'] },
  });
  t = await startTestApp({
    label: 'refund-crash',
    workers: false,
    modules: refundDeployment(billing),
    env: {
      COUNTERSIGN_CONFIG: configPath,
      OPENAI_BASE_URL: model.baseUrl,
      OPENAI_API_KEY: 'offline',
      OPENAI_MODEL: 'offline',
    },
  });
});
afterAll(async () => {
  workers.killAll();
  await t?.close();
  await model?.close();
  await billing?.close();
});

describe('a worker killed after the provider refunded but before the step was journaled', () => {
  it('the next worker gets the same refund back (idempotency key), pays once and emails once', async () => {
    const res = await t.webhook('refund-request', SAMPLE_REFUNDS.smallApprove);
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const doomed = workers.start('after-refund');
    const waiting = await t.waitForRun(runId, hasPendingCheckpoint, 90_000);
    const checkpoint = waiting.checkpoints[0]?.id;
    const decided = await t.api(`/api/checkpoints/${checkpoint}/decision`, {
      body: { decision: 'approve', actor: 'lead@larkspur.test' },
    });
    expect(decided.status).toBe(200);

    expect(await killedBy(doomed)).toBe('SIGKILL');
    // The money left at the provider, but our journal does not know yet.
    expect(billing.refunds().filter((r) => r.charge === 'ch_lk5101')).toHaveLength(1);
    const mid = await t.app.engine.getRun(runId);
    expect(mid?.steps.find((s) => s.name === 'issue-refund')?.status).not.toBe('completed');

    const survivor = workers.start();
    const done = await t.waitForRun(runId, isFinished, 90_000);
    expect(done.status).toBe('completed');
    const output = done.output as RefundRequestOutput;
    const refunds = billing.refunds().filter((r) => r.charge === 'ch_lk5101');
    expect(refunds).toHaveLength(1);
    expect(output).toMatchObject({ status: 'refunded', refundId: refunds[0]?.id, amount: 64 });
    expect(done.steps.find((s) => s.name === 'issue-refund')?.attempts).toBeGreaterThanOrEqual(2);
    await t.smtp.waitFor((m) => m.to.includes('maria@example.com'));
    expect(t.smtp.messages.filter((m) => m.to.includes('maria@example.com'))).toHaveLength(1);

    await stopWorker(survivor);
  });
});
