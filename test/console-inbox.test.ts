import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import { slaOf } from '../templates/console/inbox.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { CONSOLE_PEOPLE, type ConsoleClient, consoleSettings, signInClient } from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';

const LEAD = 'lead@example.com';
const LEAD_TWO = 'lead2@example.com';
const OTHER_APPROVER = 'second@example.com';

let t: TestApp;
let approver: ConsoleClient;

/** Starts a clear-cut dispute (a duplicate charge, 49 EUR, the AI sure to accept) and returns its checkpoint id. */
async function pendingDispute(): Promise<{ runId: string; checkpointId: string }> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.clearAccept);
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  const run = await t.waitForRun(runId, hasPendingCheckpoint);
  return { runId, checkpointId: run.checkpoints[0]?.id ?? '' };
}

async function checkpoint(id: string) {
  const cp = await t.app.engine.getCheckpoint(id);
  if (!cp) throw new Error(`no checkpoint ${id}`);
  return cp;
}

const versionOn = (page: string) => /name="version" value="(\d+)"/.exec(page)?.[1] ?? '';

beforeAll(async () => {
  const settings = {
    ...consoleSettings(),
    groups: { leads: [LEAD, LEAD_TWO] },
    workflows: {
      'card-dispute': { autonomy: 'manual', bulkApprove: { minConfidence: 0.8, maxAmount: 100 } },
      // Both leads must approve: one's approval moves the checkpoint on under the other's open page.
      'refund-request': { autonomy: 'manual', stages: [{ name: 'lead', approvers: 'leads', quorum: 'all' }] },
    },
  };
  t = await startTestApp({
    label: 'console-inbox',
    env: { COUNTERSIGN_CONFIG: writeSettingsFile('console-inbox', settings) },
  });
  approver = await signInClient(t, CONSOLE_PEOPLE.approver);
});

afterAll(async () => {
  await t?.close();
});

describe('the console inbox', () => {
  it("shows each approver only what they may decide: the approvers' own, a group's to its members", async () => {
    const dispute = await pendingDispute();
    const refund = await t.webhook('refund-request', SAMPLE_REFUNDS.smallApprove);
    expect(refund.status).toBe(202);
    const refundRun = await t.waitForRun(((await refund.json()) as { runId: string }).runId, hasPendingCheckpoint);
    const refundCheckpoint = refundRun.checkpoints[0]?.id ?? '';

    const mine = await (await approver.get('/inbox')).text();
    expect(mine).toContain(`/inbox/${dispute.checkpointId}`);
    expect(mine).not.toContain(`/inbox/${refundCheckpoint}`);

    const lead = await signInClient(t, LEAD);
    const theirs = await (await lead.get('/inbox')).text();
    expect(theirs).toContain(`/inbox/${refundCheckpoint}`);
    expect(theirs).toContain('via group leads');
    expect(theirs).not.toContain(`/inbox/${dispute.checkpointId}`);
    // Another's checkpoint, opened by address: refused, not shown.
    expect((await lead.get(`/inbox/${dispute.checkpointId}`)).status).toBe(403);

    // The live region answers the same list, and 304 while it has not changed.
    const live = await approver.get('/inbox/live');
    expect(live.status).toBe(200);
    expect(await live.text()).toContain(`/inbox/${dispute.checkpointId}`);
    const again = await approver.get('/inbox/live', { 'if-none-match': live.headers.get('etag') ?? '' });
    expect(again.status).toBe(304);
  });

  it('decides from the inbox through the one decide path, and the run goes on', async () => {
    const { runId, checkpointId } = await pendingDispute();
    const page = await (await approver.get(`/inbox/${checkpointId}`)).text();
    expect(page).toContain('What the AI proposes');
    const decided = await approver.post(`/inbox/${checkpointId}`, { decision: 'approve', version: versionOn(page) });
    expect(decided.status).toBe(303);
    expect(decided.headers.get('location')).toBe(`/inbox?decided=${checkpointId}`);
    const notice = await (await approver.get(`/inbox?decided=${checkpointId}`)).text();
    expect(notice).toMatch(/role="status"[\s\S]*Approved/);

    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decidedBy: CONSOLE_PEOPLE.approver, channel: 'console' });
    const after = await (await approver.get(`/inbox/${checkpointId}`)).text();
    expect(after).toContain(`Approved by ${CONSOLE_PEOPLE.approver} via the console`);
  });

  it('refuses a viewer who tries to decide, and changes nothing', async () => {
    const { checkpointId } = await pendingDispute();
    const before = await checkpoint(checkpointId);
    const viewer = await signInClient(t, CONSOLE_PEOPLE.viewer);
    expect((await viewer.get('/inbox')).status).toBe(403);
    const res = await viewer.post(`/inbox/${checkpointId}`, { decision: 'approve', version: String(before.version) });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Nothing was changed');
    const bulk = await viewer.post('/inbox/bulk', { kind: 'x', item: `${checkpointId}:${before.version}` });
    expect(bulk.status).toBe(403);
    const after = await checkpoint(checkpointId);
    expect(after).toMatchObject({ status: 'pending', version: before.version });
  });

  it('refuses a forged or missing CSRF token, and changes nothing', async () => {
    const { checkpointId } = await pendingDispute();
    const before = await checkpoint(checkpointId);
    const form = { decision: 'approve', version: String(before.version) };
    expect((await approver.post(`/inbox/${checkpointId}`, { ...form, _csrf: 'forged.token' })).status).toBe(403);
    const missing = await fetch(`${t.baseUrl}/inbox/${checkpointId}`, {
      method: 'POST',
      headers: { cookie: approver.cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      redirect: 'manual',
    });
    expect(missing.status).toBe(403);
    expect((await checkpoint(checkpointId)).status).toBe('pending');
    expect((await checkpoint(checkpointId)).version).toBe(before.version);
  });

  it('refuses a decision made on a version that has changed since (409), leaving the checkpoint as it is', async () => {
    const started = await t.webhook('refund-request', SAMPLE_REFUNDS.smallApprove);
    const run = await t.waitForRun(((await started.json()) as { runId: string }).runId, hasPendingCheckpoint);
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const lead = await signInClient(t, LEAD);
    const seen = versionOn(await (await lead.get(`/inbox/${checkpointId}`)).text());
    // The other lead approves first: the checkpoint waits for one more approval, at a newer version.
    await t.app.engine.decide({ checkpointId, decision: 'approve', actor: LEAD_TWO, channel: 'link' });
    const before = await checkpoint(checkpointId);
    expect(before.version).toBeGreaterThan(Number(seen));

    const res = await lead.post(`/inbox/${checkpointId}`, { decision: 'approve', version: seen });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('changed since you opened it');
    const after = await checkpoint(checkpointId);
    expect(after).toMatchObject({ status: 'pending', version: before.version });
    expect(after.approvals.map((a) => a.actor)).toEqual([LEAD_TWO]);
    expect(after.audit.some((a) => a.outcome === 'stale' && a.channel === 'console')).toBe(true);
  });

  it('approves alike low-risk items in bulk, each on its own, and reports one decided meanwhile with who decided', async () => {
    const items = [await pendingDispute(), await pendingDispute(), await pendingDispute()];
    const page = await (await approver.get('/inbox')).text();
    expect(page).toContain('Approve selected');
    const kind = /name="kind" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const boxes = items.map((i) => new RegExp(`name="item" value="(${i.checkpointId}:\\d+)"`).exec(page)?.[1] ?? '');
    expect(boxes.every((b) => b !== '')).toBe(true);

    // Meanwhile another approver decides the second one elsewhere.
    const [first, second, third] = items as [(typeof items)[0], (typeof items)[0], (typeof items)[0]];
    await t.app.engine.decide({
      checkpointId: second.checkpointId,
      decision: 'reject',
      actor: OTHER_APPROVER,
      channel: 'link',
      comment: 'not this one',
    });
    const decidedBefore = await checkpoint(second.checkpointId);

    const res = await approver.post('/inbox/bulk', { kind: kind.replaceAll('&#39;', "'"), item: boxes });
    expect(res.status).toBe(200);
    const result = await res.text();
    expect(result).toContain('2 approved, 1 not approved');
    expect(result).toContain(`already rejected by ${OTHER_APPROVER} via an approval link`);
    expect((await checkpoint(first.checkpointId)).decision).toMatchObject({
      actor: CONSOLE_PEOPLE.approver,
      channel: 'console',
    });
    expect((await checkpoint(third.checkpointId)).status).toBe('approved');
    const untouched = await checkpoint(second.checkpointId);
    expect(untouched.decision).toEqual(decidedBefore.decision);
    expect(untouched.version).toBe(decidedBefore.version);
  });

  it('refuses in bulk an item the policy does not mark low-risk', async () => {
    const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
    const run = await t.waitForRun(((await res.json()) as { runId: string }).runId, hasPendingCheckpoint);
    const cp = await checkpoint(run.checkpoints[0]?.id ?? '');
    const out = await approver.post('/inbox/bulk', {
      kind: `card-dispute / review / ${cp.proposal.outcome}`,
      item: `${cp._id}:${cp.version}`,
    });
    expect(out.status).toBe(200);
    expect(await out.text()).toContain('not approved in bulk');
    expect((await checkpoint(cp._id)).status).toBe('pending');
  });
});

describe('the SLA clock', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const at = (minutes: number) => new Date(now.getTime() + minutes * 60_000);
  it('says in words how long is left or how late it is, not by colour alone', () => {
    expect(slaOf(at(-20), now)).toEqual({ text: 'overdue by 20 min', cls: 'sla-late' });
    expect(slaOf(at(40), now)).toEqual({ text: 'due in 40 min', cls: 'sla-soon' });
    expect(slaOf(at(180), now)).toEqual({ text: 'due in 3 h' });
    expect(slaOf(undefined, now)).toEqual({ text: 'no deadline' });
  });
});
