import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newWords, onlyAutomatic } from '../handlers/email/own-replies.js';
import { claimAutoSlot } from '../src/channels/email/auto-limit.js';
import { emailModels } from '../src/channels/email/store.js';
import { ConfigError, parseEnv } from '../src/config.js';
import type { TestApp } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { customerMail, startEmailApp, waitFor } from './support/imap-app.js';
import { type CapturedMail, type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

/**
 * Loop defence with a real round trip: Countersign's mail goes over SMTP to the capture server, where a vacation
 * responder answers every message it receives by APPENDing its answer to the Dovecot INBOX that Countersign reads.
 * Each customer address below is such a responder, in a different style.
 */

const LIMIT = 3;
const APPLE = 'away-apple@example.com'; // iCloud-like: "Auto reply:", In-Reply-To ours, no Auto-Submitted/Precedence
const PLAIN = 'away-plain@example.com'; // "Re:" and threading headers, nothing else automatic about it
const FRESH = 'away-fresh@example.com'; // no threading headers: every answer looks like a new conversation
const AWAY_TEXT =
  'Thank you for your email. I am currently out of the office with limited access to email and will reply when I am back on 7 December.';

let box: TestMailbox;
let smtp: SmtpCapture;
let t: TestApp;
/** Answers the responder wrote, per address; `byHand` counts those the test appended itself. */
const answered = new Map<string, string[]>();
const byHand = new Map<string, number>();

function vacationReply(style: string, to: CapturedMail): string {
  const messageId = `<away-${randomBytes(6).toString('hex')}@${style.split('@')[1]}>`;
  const threading: Record<string, string> =
    style === FRESH || !to.messageId
      ? {}
      : { 'In-Reply-To': to.messageId, References: `${to.headers.references ?? ''} ${to.messageId}`.trim() };
  const subject = style === APPLE ? `Auto reply: ${to.subject}` : `Re: ${to.subject}`;
  answered.set(style, [...(answered.get(style) ?? []), messageId]);
  return customerMail({
    messageId,
    from: `Away Person <${style}>`,
    subject,
    body: AWAY_TEXT,
    headers: { ...threading, ...(style === APPLE ? { 'X-Apple-Action': 'VACATION' } : {}) },
  });
}

beforeAll(async () => {
  box = await testMailbox('loops');
  smtp = await startSmtpCapture({
    // Runs before the SMTP server answers our send, like a responder sitting right behind the relay.
    async onMessage(m) {
      for (const style of [APPLE, PLAIN, FRESH]) {
        if (m.to.includes(style)) await box.append(vacationReply(style, m));
      }
    },
  });
  t = await startEmailApp('emailloops', box, { EMAIL_AUTO_REPLY_LIMIT: String(LIMIT) }, smtp);
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const toAddress = (address: string) => smtp.messages.filter((m) => m.to.includes(address));

/**
 * Settled: every message the responder wrote has been handled by the reader, and no run is queued or running
 * (each waits for a person or the customer, or has finished), so nothing more can be on its way to the responder.
 */
async function settled(address: string, firstMessages: number) {
  const email = emailModels(t.app.store.connection);
  return waitFor(
    `mail with ${address} to settle`,
    async () => {
      const expected = (answered.get(address)?.length ?? 0) + firstMessages;
      const docs = await email.messages.find({ from: address }).lean();
      if (docs.length !== expected || docs.some((d) => d.status === 'processing')) return null;
      if (await t.app.store.runs.exists({ status: { $in: ['queued', 'running'] } })) return null;
      // The responder answers inside our SMTP transaction: one answer per message of ours, none in flight.
      const automatic = (answered.get(address)?.length ?? 0) - (byHand.get(address) ?? 0);
      if (toAddress(address).length !== automatic) return null;
      return docs;
    },
    90_000,
  );
}

/** One more away notice, as if the responder had answered our last message again. */
async function answerAgain(address: string) {
  const last = toAddress(address).at(-1);
  if (!last) throw new Error(`no message of ours to ${address} to answer`);
  byHand.set(address, (byHand.get(address) ?? 0) + 1);
  await box.append(vacationReply(address, last));
}

async function suppressedFor(address: string) {
  return emailModels(t.app.store.connection).suppressed.find({ address }).lean();
}

async function startConversation(address: string, tag: string) {
  await box.append(
    customerMail({
      messageId: `<${tag}-first@example.com>`,
      from: `Away Person <${address}>`,
      subject: 'A charge on my card',
      body: 'I did not authorize the charge of $199 on my card last week. Please refund it.',
    }),
  );
}

describe('a vacation responder answering everything we send', () => {
  it('gets a bounded number of messages from an iCloud-style responder, then silence', async () => {
    await startConversation(APPLE, 'apple');
    const docs = await settled(APPLE, 1);
    const ours = toAddress(APPLE).length;
    expect(ours).toBeGreaterThan(0);
    expect(ours).toBeLessThanOrEqual(LIMIT);
    const replies = docs.filter((d) => d.messageId !== '<apple-first@example.com>');
    expect(replies.length).toBe(ours);
    // Header detection or the reply-to-automatic rule stopped each one, and said why.
    for (const d of replies) expect(d).toMatchObject({ status: 'ignored', reason: expect.any(String) });
    const suppressed = await suppressedFor(APPLE);
    for (const d of replies.filter((r) => r.reason === 'reply-to-automatic'))
      expect(suppressed.map((s) => s.messageKey)).toContain(d._id);
  });

  it('does not answer replies to our automatic mail that add no words of a person, and records each', async () => {
    await startConversation(PLAIN, 'plain');
    const docs = await settled(PLAIN, 1);
    const ours = toAddress(PLAIN);
    expect(ours.map((m) => m.headers['x-countersign-effect'])).toEqual(['email-receipt', 'email-question']);
    const replies = docs.filter((d) => d.messageId !== '<plain-first@example.com>');
    expect(replies.map((d) => [d.status, d.reason])).toEqual(ours.map(() => ['ignored', 'reply-to-automatic']));
    const suppressed = await suppressedFor(PLAIN);
    expect(suppressed).toHaveLength(replies.length);
    const intakeRun = docs.find((d) => d.messageId === '<plain-first@example.com>')?.runId;
    for (const s of suppressed) {
      expect(s).toMatchObject({ reason: 'reply-to-automatic', kind: 'inbound', runId: intakeRun });
      expect(s.detail).toMatch(
        /^a reply to our email-(receipt|question) <[0-9a-f]{32}@northwind\.test> with only an away notice$/,
      );
    }

    // Silence holds: one more away notice is handled, and nothing more goes out.
    await answerAgain(PLAIN);
    await settled(PLAIN, 1);
    expect(toAddress(PLAIN)).toHaveLength(ours.length);
  });

  it('stops at the per-address limit when every answer looks like a new conversation', async () => {
    await startConversation(FRESH, 'fresh');
    await settled(FRESH, 1);
    expect(toAddress(FRESH)).toHaveLength(LIMIT);
    const suppressed = await suppressedFor(FRESH);
    expect(suppressed.length).toBeGreaterThan(0);
    for (const s of suppressed) {
      expect(s).toMatchObject({ reason: 'address-limit', kind: 'email-receipt', runId: expect.any(String) });
      expect(s.detail).toContain(`${LIMIT} automatic messages to ${FRESH} within 1440 minutes`);
    }
    // The run that could not answer shows it, and a person still sees the message.
    const run = await t.app.engine.getRun(suppressed[0]?.runId ?? '');
    expect(run?.checkpoints.map((c) => [c.name, c.status])).toEqual([['triage', 'pending']]);
    const cp = await t.app.engine.getCheckpoint(run?.checkpoints[0]?.id ?? '');
    const receiptLine = cp?.evidence[0]?.items.find((i) => i.label === 'Receipt');
    expect(receiptLine?.value).toMatch(/^held back \(address-limit\)/);

    await answerAgain(FRESH);
    await settled(FRESH, 1);
    expect(toAddress(FRESH)).toHaveLength(LIMIT);
  });
});

describe('what counts as new words of a person', () => {
  it('finds none in a bare quote or an away notice, and some in an answer', () => {
    expect(onlyAutomatic(newWords('> Hello,\n> we have received your message'))).toBe(true);
    expect(
      onlyAutomatic(newWords(`${AWAY_TEXT}\n\nOn Tue, 3 Nov 2026, Northwind <d@northwind.test> wrote:\n> Hi`)),
    ).toBe(true);
    expect(onlyAutomatic(newWords('Je suis absent du bureau jusqu’au 7 décembre.'))).toBe(true);
    expect(onlyAutomatic(newWords('Sure, it is ch_2001.\n\nOn Tue, Countersign wrote:\n> To look into this'))).toBe(
      false,
    );
  });
});

describe('per-address claims on the real store', () => {
  it('lets exactly the limit through under concurrency, once per send, and again after the window', async () => {
    const slots = emailModels(t.app.store.connection).autoSlots;
    const address = `race-${randomBytes(4).toString('hex')}@example.com`;
    const cap = { limit: 3, windowMs: 60_000 };
    const now = new Date();
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, i) => claimAutoSlot(slots, address, `send-${i}`, cap, now)),
    );
    const won = claims.flatMap((c, i) => (c.ok ? [i] : []));
    expect(won).toHaveLength(cap.limit);
    const retry = await claimAutoSlot(slots, address, `send-${won[0]}`, cap, now);
    expect(retry).toEqual(claims[won[0] ?? -1]);
    const later = new Date(now.getTime() + cap.windowMs + 1);
    expect((await claimAutoSlot(slots, address, 'send-later', cap, later)).ok).toBe(true);
  });
});

describe('configuration', () => {
  const base = { MONGODB_URI: 'mongodb://127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1', COUNTERSIGN_DEMO: '1' };

  it('defaults to 4 automatic messages per address a day', () => {
    expect(parseEnv(base).autoReply).toEqual({ limit: 4, windowMs: 24 * 3_600_000 });
    expect(
      parseEnv({ ...base, EMAIL_AUTO_REPLY_LIMIT: '2', EMAIL_AUTO_REPLY_WINDOW_MINUTES: '4320' }).autoReply,
    ).toEqual({ limit: 2, windowMs: 3 * 24 * 3_600_000 });
  });

  it('names a limit of zero as a bad variable', () => {
    expect(() => parseEnv({ ...base, EMAIL_AUTO_REPLY_LIMIT: '0' })).toThrow(ConfigError);
    try {
      parseEnv({ ...base, EMAIL_AUTO_REPLY_LIMIT: '0' });
    } catch (err) {
      expect((err as ConfigError).problems).toEqual(['EMAIL_AUTO_REPLY_LIMIT: expected a whole number from 1 to 100']);
    }
  });
});
