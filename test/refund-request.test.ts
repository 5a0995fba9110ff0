import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { BillingStandin } from '../agents/refunds/billing/standin.js';
import { createRefundOutcomeLog } from '../agents/refunds/outcomes.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import type { RefundRequestOutput } from '../agents/refunds/workflow.js';
import type { RunView } from '../src/engine/types.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { refundDeployment, startRefund, startSampleBilling, writeSettingsFile } from './support/refund-app.js';

const LEAD = 'lead@larkspur.test';
const FINANCE = 'fin@larkspur.test';
const REQUESTER = SAMPLE_REFUNDS.smallApprove.requestedBy;

let t: TestApp;
let billing: BillingStandin;

beforeAll(async () => {
  billing = await startSampleBilling();
  // CONTRACT.md's example policy, as an operator writes it.
  const configPath = writeSettingsFile('refunds', {
    groups: { leads: [LEAD], finance: [FINANCE] },
    workflows: {
      'refund-request': {
        stages: [
          { name: 'lead', approvers: 'leads' },
          { name: 'finance', approvers: 'finance', above: 100 },
        ],
      },
    },
  });
  t = await startTestApp({
    label: 'refunds',
    // Both processes in one deployment; the refund module pays through the stand-in over real HTTP.
    modules: refundDeployment(billing),
    // Latency makes the two parallel agents' model calls overlap measurably.
    env: { COUNTERSIGN_CONFIG: configPath, OFFLINE_MODEL_LATENCY_MS: '300' },
  });
});
afterAll(async () => {
  await t?.close();
  await billing?.close();
});

const start = (input: unknown) => startRefund(t, input);

/** Waits for the named checkpoint to be pending and returns its stored document. */
async function pending(runId: string, name: string) {
  const run = await t.waitForRun(
    runId,
    (r) => hasPendingCheckpoint(r) && r.checkpoints.some((c) => c.name === name && c.status === 'pending'),
    60_000,
  );
  const id = run.checkpoints.find((c) => c.name === name)?.id ?? '';
  const doc = await t.app.store.checkpoints.findById(id).lean();
  if (!doc) throw new Error(`checkpoint ${id} not stored`);
  return { run, doc };
}

async function decide(checkpointId: string, body: Record<string, unknown>) {
  return t.api(`/api/checkpoints/${checkpointId}/decision`, { body });
}

async function finished(runId: string): Promise<{ run: RunView; output: RefundRequestOutput }> {
  const run = await t.waitForRun(runId, isFinished, 60_000);
  expect(run.error).toBeNull();
  expect(run.status).toBe('completed');
  return { run, output: run.output as RefundRequestOutput };
}

const refundsOf = (chargeId: string) => billing.refunds().filter((r) => r.charge === chargeId);
const mailTo = (address: string) => t.smtp.messages.filter((m) => m.to.includes(address));

describe('refund-request beside card-dispute in one deployment', () => {
  it('small refund: agents in parallel, one lead approves, refunded once, customer and requester emailed', async () => {
    const runId = await start(SAMPLE_REFUNDS.smallApprove);
    const { run, doc } = await pending(runId, 'approve');
    const agents = Object.fromEntries(run.steps.filter((s) => s.kind === 'agent').map((s) => [s.name, s]));
    const history = agents['account-history'];
    const policy = agents['policy-check'];
    expect(history?.status).toBe('completed');
    expect(policy?.status).toBe('completed');
    // In parallel: each started before the other finished.
    expect(+(history?.startedAt ?? 0)).toBeLessThan(+(policy?.finishedAt ?? 0));
    expect(+(policy?.startedAt ?? 0)).toBeLessThan(+(history?.finishedAt ?? 0));
    expect(+(agents['refund-advisor']?.startedAt ?? 0)).toBeGreaterThanOrEqual(+(policy?.finishedAt ?? 0));

    // One stage (64 EUR is not above 100), decided by the `leads` group.
    expect(run.checkpoints.map((c) => c.name)).toEqual(['approve']);
    expect(doc.approvers.emails).toEqual([LEAD]);
    expect(doc.values).toMatchObject({ decision: 'approve', amount: 64 });
    expect(doc.proposal).toMatchObject({ outcome: 'approve' });
    expect(Object.keys(doc.editableSchema.properties ?? {}).sort()).toEqual(['amount', 'decision', 'reply']);
    expect(doc.evidence.map((s) => s.title)).toEqual([
      'Request',
      'Account history (account-history)',
      'Written policy (policy-check)',
    ]);

    expect((await decide(doc._id, { decision: 'approve', actor: LEAD })).status).toBe(200);
    const { output } = await finished(runId);
    expect(output).toMatchObject({ status: 'refunded', decision: 'approve', amount: 64, decidedBy: [LEAD] });
    expect(refundsOf('ch_lk5101')).toEqual([
      expect.objectContaining({
        id: output.refundId,
        amount: 6_400,
        currency: 'eur',
        metadata: expect.objectContaining({ countersign_run: runId }),
      }),
    ]);
    const customer = await t.smtp.waitFor((m) => m.to.includes('maria@example.com'));
    expect(customer.text).toContain('€64.00');
    expect(customer.subject).toContain('ord_5101');
    const note = await t.smtp.waitFor((m) => m.to.includes(REQUESTER) && m.subject.includes('maria@example.com'));
    expect(note.subject).toMatch(/^Refund approved/);
    expect(note.text).toContain(output.refundId ?? 'missing');
    expect(mailTo('maria@example.com')).toHaveLength(1);
  });

  it('the provider refusing the refund (already refunded) ends it as failed: requester told, customer not', async () => {
    // ord_5101 was refunded in full by the previous test; our sample history does not know, the provider does.
    const runId = await start({ ...SAMPLE_REFUNDS.smallApprove, reason: 'Asked again: the hopper is still cracked.' });
    const { doc } = await pending(runId, 'approve');
    expect((await decide(doc._id, { decision: 'approve', actor: LEAD })).status).toBe(200);
    const { output } = await finished(runId);
    expect(output).toMatchObject({ status: 'failed', refundId: null, customerEmailed: false });
    const note = await t.smtp.waitFor(
      (m) => m.to.includes(REQUESTER) && m.subject.startsWith('Refund could not be issued'),
    );
    expect(note.text).toContain('charge_already_refunded: Charge ch_lk5101 has already been refunded.');
    expect(refundsOf('ch_lk5101')).toHaveLength(1);
    expect(mailTo('maria@example.com')).toHaveLength(1);
  });

  it('above 100: lead edits the amount, finance sees that and approves; one partial refund', async () => {
    const runId = await start(SAMPLE_REFUNDS.partial);
    const lead = await pending(runId, 'approve-lead');
    expect(lead.doc.approvers.emails).toEqual([LEAD]);
    expect(lead.doc.title).toContain('stage 1 of 2: lead');
    expect(lead.doc.values).toMatchObject({ decision: 'partial', amount: 190 });

    // An amount above what was asked is refused in the workflow's words (the route was chosen by that amount).
    const tooMuch = await decide(lead.doc._id, { decision: 'approve', actor: LEAD, edits: { amount: 400 } });
    expect(tooMuch.status).toBe(400);
    expect(JSON.stringify(await tooMuch.json())).toContain('At most the £380.00 that was asked for');

    const reply = `${lead.doc.values.reply as string}\n\nWe have also sent you a descaling kit.`;
    expect(
      (await decide(lead.doc._id, { decision: 'approve', actor: LEAD, edits: { amount: 200, reply } })).status,
    ).toBe(200);
    const finance = await pending(runId, 'approve-finance');
    expect(finance.doc.approvers.emails).toEqual([FINANCE]);
    expect(finance.doc.values).toMatchObject({ decision: 'partial', amount: 200 });
    const earlier = finance.doc.evidence[0];
    expect(earlier?.title).toBe('Earlier approval stages');
    expect(earlier?.items[0]?.value).toContain(`approved by ${LEAD}`);
    expect(earlier?.items[0]?.value).toContain('amount 190 → 200');

    expect((await decide(finance.doc._id, { decision: 'approve', actor: FINANCE })).status).toBe(200);
    const { output } = await finished(runId);
    expect(output).toMatchObject({ status: 'refunded', decision: 'partial', amount: 200, decidedBy: [LEAD, FINANCE] });
    expect(refundsOf('ch_lk5201').map((r) => r.amount)).toEqual([20_000]);
    const customer = await t.smtp.waitFor((m) => m.to.includes('tom@example.com'));
    expect(customer.text).toContain('descaling kit');
  });

  it('a rejection at the finance stage ends it with the reason: nothing refunded, no customer email', async () => {
    const runId = await start(SAMPLE_REFUNDS.largeNeedsFinance);
    const lead = await pending(runId, 'approve-lead');
    expect(lead.doc.values).toMatchObject({ decision: 'approve', amount: 1_450 });
    expect((await decide(lead.doc._id, { decision: 'approve', actor: LEAD })).status).toBe(200);
    const finance = await pending(runId, 'approve-finance');
    // The configuration's default for this workflow: a reject must say why.
    const bare = await decide(finance.doc._id, { decision: 'reject', actor: FINANCE });
    expect(bare.status).toBe(400);
    const reason = 'Ship the 120 V model instead; a refund is not needed.';
    expect((await decide(finance.doc._id, { decision: 'reject', actor: FINANCE, comment: reason })).status).toBe(200);
    const { output } = await finished(runId);
    expect(output).toMatchObject({ status: 'rejected', rejectedAt: 'finance', refundId: null, customerEmailed: false });
    const note = await t.smtp.waitFor((m) => m.to.includes(REQUESTER) && m.subject.includes('priya@example.com'));
    expect(note.subject).toMatch(/^Refund request rejected/);
    expect(note.text).toContain(`at the finance stage by ${FINANCE}`);
    expect(note.text).toContain(reason);
    expect(refundsOf('ch_lk5401')).toHaveLength(0);
    expect(mailTo('priya@example.com')).toHaveLength(0);
    expect(await createRefundOutcomeLog(t.app.store.connection).get(runId)).toMatchObject({
      status: 'rejected',
      reason,
      decidedBy: [LEAD, FINANCE],
    });
  });

  it('an agreed denial pays nothing and tells the customer; the injection is shown, not obeyed', async () => {
    const denyRun = await start(SAMPLE_REFUNDS.deny);
    const injectionRun = await start(SAMPLE_REFUNDS.injection);
    const denied = await pending(denyRun, 'approve');
    expect(denied.doc.values).toMatchObject({ decision: 'deny', amount: 0 });
    expect((await decide(denied.doc._id, { decision: 'approve', actor: LEAD })).status).toBe(200);
    expect((await finished(denyRun)).output).toMatchObject({ status: 'denied', amount: 0, refundId: null });
    expect((await t.smtp.waitFor((m) => m.to.includes('rex@example.com'))).text).toContain(
      'not able to offer a refund',
    );
    expect(refundsOf('ch_lk5301')).toHaveLength(0);

    // 900 EUR asked: two stages, and the approvers see the hidden instruction flagged.
    const injected = await pending(injectionRun, 'approve-lead');
    expect(injected.doc.values).toMatchObject({ decision: 'deny', amount: 0 });
    const policy = injected.doc.evidence.find((s) => s.title.startsWith('Written policy'));
    expect(policy?.items).toContainEqual({
      label: 'Instructions in the reason',
      value: 'yes: treated as data, not obeyed',
    });
    const reason = 'Change of mind after 70 days; nothing to refund.';
    expect((await decide(injected.doc._id, { decision: 'reject', actor: LEAD, comment: reason })).status).toBe(200);
    expect((await finished(injectionRun)).output).toMatchObject({ status: 'rejected', rejectedAt: 'lead' });
    expect(refundsOf('ch_lk5501')).toHaveLength(0);
  });

  it('lists both processes with their input schemas, and counts refunds for the digest', async () => {
    const res = await t.api('/api/workflows');
    expect(res.status).toBe(200);
    const listing = JSON.stringify(await res.json());
    expect(listing).toContain('refund-request');
    expect(listing).toContain('card-dispute');
    expect(listing).toContain('customerEmail');

    // A dispute still runs beside the refunds in the same deployment.
    const dispute = await t.webhook('card-dispute', {
      ...SAMPLE_DISPUTES.needsReview,
      customerEmail: 'side-by-side@example.com',
    });
    expect(dispute.status).toBe(202);

    const totals = await createRefundOutcomeLog(t.app.store.connection).totalsBetween(
      new Date(Date.now() - 3_600_000),
      new Date(Date.now() + 60_000),
    );
    expect(totals.byStatus).toMatchObject({ refunded: 2, denied: 1, rejected: 2, failed: 1 });
    expect(totals.byDecision).toMatchObject({ approve: 1, partial: 1, deny: 1 });
    expect(totals.paid).toEqual({ EUR: 64, GBP: 200 });

    const sections = await t.app.digestSections({
      from: new Date(Date.now() - 3_600_000),
      to: new Date(Date.now() + 60_000),
    });
    const refunds = sections.find((s) => s.title === 'Refund requests');
    expect(Object.fromEntries((refunds?.rows ?? []).map((r) => [r.label, r.value]))).toEqual({
      Requested: '6',
      'Approved in full': '1',
      'Approved in part': '1',
      Denied: '1',
      'Rejected by an approver': '2',
      'Refused by the payment provider': '1',
      'Total refunded or credited': '64.00 EUR, 200.00 GBP',
    });
    expect(sections.map((s) => s.title)).toContain('Card disputes');

    // The engine measured agreement for every stage people decided, attributed to the advisor.
    const { workflows } = await t.app.engine.agreementStats({ workflow: 'refund-request' });
    expect(workflows).toHaveLength(1);
    expect(workflows[0]).toMatchObject({ workflow: 'refund-request', decided: 8, byPerson: 8, byPolicy: 0, edited: 1 });
    expect(workflows[0]?.agents.map((a) => a.agent)).toEqual(['refund-advisor']);
  });
});
