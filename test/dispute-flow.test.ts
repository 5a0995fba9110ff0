import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { approvalLink } from '../src/approvals/tokens.js';
import { APPROVER, hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ label: 'flow' });
});
afterAll(async () => {
  await t?.close();
});

async function startDispute(input: unknown = SAMPLE_DISPUTES.needsReview) {
  const res = await t.webhook('card-dispute', input);
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  const run = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
  return { runId, run };
}

describe('card-dispute from webhook to the customer email', () => {
  it('waits at a checkpoint, then sends the edited reply once a person approves it', async () => {
    const { runId, run } = await startDispute();
    expect(run.status).toBe('waiting');
    expect(run.steps.map((s) => s.name)).toEqual(
      expect.arrayContaining(['evidence-collector', 'account-risk', 'language-analyst', 'dispute-manager']),
    );
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const approverMail = await t.smtp.waitFor((m) => m.to.includes(APPROVER) && m.text.includes('/approvals/'));
    expect(approverMail.headers['auto-submitted']).toBe('auto-generated');

    const edited = 'Dear customer, we reviewed your dispute carefully and will refund the charge in full. — Team';
    const res = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
      body: { decision: 'approve', edits: { reply: edited, outcome: 'accept' }, actor: 'lead@example.com' },
    });
    expect(res.status).toBe(200);

    const done = await t.waitForRun(runId, isFinished);
    expect(done.status).toBe('completed');
    expect(done.output).toMatchObject({ outcome: 'accept', decidedBy: 'lead@example.com', replySent: true });
    const customer = SAMPLE_DISPUTES.needsReview.customerEmail.toLowerCase();
    const mail = await t.smtp.waitFor((m) => m.to.includes(customer));
    expect(mail.text.trim()).toBe(edited);
    expect(t.smtp.messages.filter((m) => m.to.includes(customer))).toHaveLength(1);
    const outcome = await t.app.outcomes.get(runId);
    expect(outcome).toMatchObject({ final: 'accept', edited: true, decidedBy: 'lead@example.com' });
    expect(done.checkpoints[0]?.decision?.diff.map((d) => d.field)).toContain('reply');
  });

  it('runs the three specialists at the same time (their journaled intervals overlap)', async () => {
    const { run } = await startDispute();
    const specialists = run.steps.filter((s) =>
      ['evidence-collector', 'account-risk', 'language-analyst'].includes(s.name),
    );
    expect(specialists).toHaveLength(3);
    const latestStart = Math.max(...specialists.map((s) => new Date(s.startedAt ?? 0).getTime()));
    const earliestEnd = Math.min(...specialists.map((s) => new Date(s.finishedAt ?? 0).getTime()));
    expect(latestStart).toBeLessThan(earliestEnd);
    const manager = run.steps.find((s) => s.name === 'dispute-manager');
    expect(new Date(manager?.startedAt ?? 0).getTime()).toBeGreaterThanOrEqual(earliestEnd);
  });

  it('lets exactly one of 20 concurrent decisions take effect and sends one email', async () => {
    const input = { ...SAMPLE_DISPUTES.needsReview, customerEmail: 'race@example.com', customerName: 'Race Case' };
    const { runId, run } = await startDispute(input);
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        t.api(`/api/checkpoints/${checkpointId}/decision`, {
          body: { decision: 'approve', actor: `clicker-${i}@example.com` },
        }),
      ),
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    const winner = results[statuses.indexOf(200)];
    const winnerBody = (await winner?.json()) as { checkpoint: { decision: { actor: string } } };
    const loser = (await results[statuses.indexOf(409)]?.json()) as { decidedBy: string; message: string };
    expect(loser.decidedBy).toBe(winnerBody.checkpoint.decision.actor);
    expect(loser.message).toContain(winnerBody.checkpoint.decision.actor);

    const done = await t.waitForRun(runId, isFinished);
    expect(done.status).toBe('completed');
    await t.smtp.waitFor((m) => m.to.includes('race@example.com'));
    expect(t.smtp.messages.filter((m) => m.to.includes('race@example.com'))).toHaveLength(1);
  });

  it('ignores ten GETs of an approval link and decides on the POST', async () => {
    const input = { ...SAMPLE_DISPUTES.needsReview, customerEmail: 'link@example.com' };
    const { runId, run } = await startDispute(input);
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const link = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, { checkpointId, recipient: APPROVER });
    for (let i = 0; i < 10; i++) {
      const page = await fetch(link);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('Approve');
    }
    const cp = await t.app.engine.getCheckpoint(checkpointId);
    expect(cp).toMatchObject({ status: 'pending', version: 0 });
    expect(await t.app.store.usedTokens.countDocuments({ checkpointId })).toBe(0);

    const posted = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ decision: 'approve' }).toString(),
    });
    expect(posted.status).toBe(200);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decidedBy: APPROVER, channel: 'link' });
    const again = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ decision: 'reject' }).toString(),
    });
    expect(again.status).toBe(410);
    expect(await again.text()).toMatch(/already been used/i);
  });

  it('records a rejection without writing to the customer', async () => {
    const input = { ...SAMPLE_DISPUTES.needsReview, customerEmail: 'rejected@example.com' };
    const { runId, run } = await startDispute(input);
    const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, {
      body: { decision: 'reject', comment: 'needs a call with the bank', actor: 'lead@example.com' },
    });
    expect(res.status).toBe(200);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ outcome: 'escalated', replySent: false });
    expect(t.smtp.messages.filter((m) => m.to.includes('rejected@example.com'))).toHaveLength(0);
  });

  it('refuses edits that break the editable schema and keeps the checkpoint pending', async () => {
    const input = { ...SAMPLE_DISPUTES.needsReview, customerEmail: 'badedit@example.com' };
    const { run } = await startDispute(input);
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const res = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
      body: { decision: 'approve', edits: { outcome: 'maybe', reply: 'short', refund: 5 } },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toContain('refund');
    const fixed = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
      body: { decision: 'approve', edits: { outcome: 'maybe' } },
    });
    expect(fixed.status).toBe(400);
    expect((await t.app.engine.getCheckpoint(checkpointId))?.status).toBe('pending');
  });
});
