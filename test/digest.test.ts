import { existsSync, statSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { createMailer } from '../src/channels/mailer.js';
import { computeDigest } from '../src/digest/compute.js';
import { type DigestOptions, sendDigest, startDigest } from '../src/digest/scheduler.js';
import { createFailpoints } from '../src/engine/failpoints.js';
import { digestEmail } from '../templates/email/digest.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { screenshotHtml } from './support/chromium.js';

let t: TestApp;
let options: DigestOptions;
const MANAGER = 'manager@example.com';
const silent = pino({ level: 'silent' });

beforeAll(async () => {
  // `assisted`: the clear duplicate is refunded by the policy, the rest waits for a person.
  t = await startTestApp({ label: 'digest', env: { AUTONOMY: 'assisted' } });
  const transport = nodemailer.createTransport(t.smtp.url);
  const mailer = createMailer({
    transport,
    from: 'Countersign <digest@northwind.test>',
    store: t.app.store,
    failpoints: createFailpoints(new Set(), silent),
    logger: silent,
  });
  options = {
    connection: t.app.deps.queues.connection,
    prefix: t.env.COUNTERSIGN_QUEUE_PREFIX ?? 'x',
    mailer,
    logger: silent,
    recipients: [MANAGER, 'berlin@example.com'],
    cron: '0 8 * * 1-5',
    timezones: { 'berlin@example.com': 'Europe/Berlin' },
    sendEmpty: false,
    dashboardUrl: `${t.baseUrl}/`,
    engine: t.app.engine,
    store: t.app.store,
    linkFor: (cp, r) => `${t.baseUrl}/approvals/test-${cp._id}-${r}`,
  };
});
afterAll(async () => {
  await t?.close();
});

async function dispute(
  input: unknown,
  until = (r: Parameters<typeof hasPendingCheckpoint>[0]) => hasPendingCheckpoint(r) || isFinished(r),
) {
  const res = await t.webhook('card-dispute', input);
  const { runId } = (await res.json()) as { runId: string };
  return t.waitForRun(runId, until, 120_000);
}

describe('manager digest', () => {
  it('sends nothing when nothing happened', async () => {
    expect(await sendDigest(options, MANAGER, 'empty-check')).toBe('empty');
    expect(t.smtp.messages.filter((m) => m.to.includes(MANAGER))).toEqual([]);
  });

  it('summarises what waits, what was decided, agreement and cost, matching the data', {
    timeout: 240_000,
  }, async () => {
    // Side by side: four runs one after another took over 60 s on a busy 2-core machine.
    const [waiting, edited, rejectCase] = await Promise.all([
      dispute({ ...SAMPLE_DISPUTES.needsReview, customerEmail: 'wait@example.com' }),
      dispute(SAMPLE_DISPUTES.needsReview),
      dispute(SAMPLE_DISPUTES.injection),
      dispute(SAMPLE_DISPUTES.clearAccept, isFinished), // resolved by the policy
    ]);
    const cpOf = (r: typeof waiting) => r.checkpoints[0]?.id ?? '';
    await t.api(`/api/checkpoints/${cpOf(edited)}/decision`, {
      body: {
        decision: 'approve',
        edits: { outcome: 'reject', reply: 'We looked again and the charge stands, sorry.' },
        actor: 'lead@example.com',
      },
    });
    await t.api(`/api/checkpoints/${cpOf(rejectCase)}/decision`, {
      body: { decision: 'reject', actor: 'lead@example.com' },
    });
    await Promise.all([t.waitForRun(edited.id, isFinished, 120_000), t.waitForRun(rejectCase.id, isFinished, 120_000)]);

    const now = new Date();
    const data = await computeDigest(options, MANAGER, new Date(now.getTime() - 3_600_000), now);
    expect(data.pending.map((p) => p.id)).toEqual([cpOf(waiting)]);
    expect(data.decisions).toEqual({ approved: 0, edited: 1, rejected: 1, timedOut: 0 });
    expect(data.resolved).toEqual({ total: 3, withoutPerson: 1 });
    // The edited case was proposed `accept`… unless the AI said review; only clear proposals count.
    const records = await t.app.store.connection.collection('agreements').find({}).toArray();
    const compared = records.filter(
      (o) => o.decidedBy === 'person' && ['accept', 'reject'].includes(String(o.proposed)),
    );
    expect(data.agreement).toEqual({
      compared: compared.length,
      agreed: compared.filter((o) => o.final === o.proposed).length,
    });
    expect(data.byWorkflow).toEqual([
      { workflow: 'card-dispute', resolved: { total: 3, withoutPerson: 1 }, agreement: data.agreement },
    ]);
    const calls = await t.app.store.modelCalls.find({}).lean();
    expect(data.usage.calls).toBe(calls.length);
    expect(data.usage.inputTokens).toBe(calls.reduce((s, c) => s + c.inputTokens, 0));

    expect(await sendDigest(options, MANAGER, 'slot-1')).toBe('sent');
    const mail = await t.smtp.waitFor((m) => m.to.includes(MANAGER));
    expect(mail.subject).toBe('Countersign digest: 1 waiting, 2 decided');
    expect(mail.text).toContain('Resolved without a person: 1 of 3 (33%)');
    expect(mail.text).toMatch(/Approved with edits\s+#+\s+1/);
    expect(mail.html).toContain(`/approvals/test-${cpOf(waiting)}-${MANAGER}`);
    expect(mail.html).not.toMatch(/<script/i);
    expect(mail.headers['auto-submitted']).toBe('auto-generated');

    const png = await screenshotHtml(
      digestEmail(data, { timeZone: 'Europe/Berlin', dashboardUrl: t.baseUrl }).html,
      'digest.png',
    );
    expect(existsSync(png) && statSync(png).size > 5_000).toBe(true);
  });

  it('counts mail that started nothing, by the rule that stopped it', async () => {
    const messages = t.app.store.connection.collection<{ _id: string; [field: string]: unknown }>('email_messages');
    const now = new Date();
    const base = { v: 1, attachments: [], seq: 0, receivedAt: now, updatedAt: now, account: 'a', mailbox: 'INBOX' };
    await messages.insertMany([
      { ...base, _id: 'digest-q1', status: 'quarantined', reason: 'sender-rate' },
      { ...base, _id: 'digest-q2', status: 'quarantined', reason: 'unparseable MIME: bad boundary' },
      { ...base, _id: 'digest-q3', status: 'quarantined', reason: 'sender-rate' },
      { ...base, _id: 'digest-i1', status: 'ignored', reason: 'auto-reply: X-Apple-Action: VACATION' },
      { ...base, _id: 'digest-old', status: 'quarantined', reason: 'limits', updatedAt: new Date(0) },
    ]);
    const data = await computeDigest(options, MANAGER, new Date(now.getTime() - 60_000), new Date(now.getTime() + 1));
    expect(data.mail).toEqual({
      quarantined: 3,
      ignored: 1,
      reasons: [
        { reason: 'sender-rate', count: 2 },
        { reason: 'unparseable MIME', count: 1 },
      ],
    });
    const { text } = digestEmail(data, { timeZone: 'UTC', dashboardUrl: t.baseUrl });
    expect(text).toContain('Mail quarantined for a look: 3 (sender-rate 2, unparseable MIME 1)');
  });

  it("carries each module's own section into the email", async () => {
    const now = new Date();
    const withSections = {
      ...options,
      sections: async () => [{ title: 'Refund requests', rows: [{ label: 'Refunded', value: '3 (EUR 120.00)' }] }],
    };
    const data = await computeDigest(withSections, MANAGER, new Date(now.getTime() - 60_000), now);
    const { text, html } = digestEmail(data, { timeZone: 'UTC', dashboardUrl: t.baseUrl });
    expect(text).toContain('Refund requests\n  Refunded: 3 (EUR 120.00)');
    expect(html).toContain('Refund requests');
  });

  it('schedules one digest per recipient on DIGEST_CRON in their time zone', async () => {
    const digest = await startDigest(options);
    try {
      const schedulers = await digest.queue.getJobSchedulers();
      const byId = Object.fromEntries(schedulers.map((s) => [s.key, s]));
      expect(byId[`digest:${MANAGER}`]).toMatchObject({ pattern: '0 8 * * 1-5', tz: 'UTC' });
      expect(byId['digest:berlin@example.com']).toMatchObject({ pattern: '0 8 * * 1-5', tz: 'Europe/Berlin' });
    } finally {
      await digest.close();
    }
  });
});
