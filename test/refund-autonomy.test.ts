import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingStandin } from '../agents/refunds/billing/standin.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import type { RefundRequestOutput } from '../agents/refunds/workflow.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { refundDeployment, startRefund, startSampleBilling } from './support/refund-app.js';

let t: TestApp;
let billing: BillingStandin;

beforeAll(async () => {
  billing = await startSampleBilling();
  t = await startTestApp({
    label: 'refund-autonomy',
    modules: refundDeployment(billing),
    env: { AUTONOMY: 'autonomous' },
  });
});
afterAll(async () => {
  await t?.close();
  await billing?.close();
});

const start = (input: unknown) => startRefund(t, input);

describe('refund-request under AUTONOMY=autonomous', () => {
  it('lets a small, clear approval stand: refunded once without a person, journaled as the policy', async () => {
    const runId = await start(SAMPLE_REFUNDS.smallApprove);
    const run = await t.waitForRun(runId, isFinished, 60_000);
    expect(run.status).toBe('completed');
    expect(run.checkpoints).toHaveLength(0);
    expect(run.output as RefundRequestOutput).toMatchObject({ status: 'refunded', amount: 64, decidedBy: ['policy'] });
    const verdict = await t.app.store.steps.findOne({ runId, name: 'autonomy-policy' }).lean();
    expect(verdict?.result).toMatchObject({ level: 'autonomous', auto: true });
    expect(billing.refunds().filter((r) => r.charge === 'ch_lk5101')).toHaveLength(1);
    await t.smtp.waitFor((m) => m.to.includes('maria@example.com'));
    const { workflows } = await t.app.engine.agreementStats({ workflow: 'refund-request' });
    expect(workflows[0]).toMatchObject({ byPolicy: 1, byPerson: 0 });
  });

  it('still asks people for anything above one stage or not a clear approval', async () => {
    const partial = await start(SAMPLE_REFUNDS.partial);
    const waiting = await t.waitForRun(partial, hasPendingCheckpoint, 60_000);
    expect(waiting.checkpoints.map((c) => c.name)).toEqual(['approve-lead']);
    const verdict = await t.app.store.steps.findOne({ runId: partial, name: 'autonomy-policy' }).lean();
    expect(verdict?.result).toMatchObject({ auto: false });
    expect(JSON.stringify(verdict?.result)).toContain('the AI proposes a partial refund');
    expect(billing.refunds().filter((r) => r.charge === 'ch_lk5201')).toHaveLength(0);
  });
});
