import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  appendToThread,
  claimMessage,
  openThread,
  openThreadsWith,
  threadMessageIds,
} from '../src/channels/email/intake-records.js';
import { type EmailStore, emailModels, ensureEmailIndexes, type ThreadDoc } from '../src/channels/email/store.js';
import { createThreadMail } from '../src/channels/email/thread-mail.js';
import { createMailer } from '../src/channels/mailer.js';
import { createFailpoints } from '../src/engine/failpoints.js';
import { openStore, type Store } from '../src/store/models.js';
import { testMongoUri } from './support/env.js';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

/**
 * The email channel's exactly-once moments under real concurrency, on the store the suite runs (FerretDB 1.x,
 * where conditional updates let several writers through and updates rewrite whole documents).
 */

let store: Store;
let email: EmailStore;
let smtp: SmtpCapture;
const silent = pino({ level: 'silent' });
const LEASE_MS = 60_000;
const T0 = new Date('2026-11-30T10:00:00Z');
const later = (ms: number) => new Date(T0.getTime() + ms);

beforeAll(async () => {
  store = await openStore(testMongoUri('emailraces'));
  email = emailModels(store.connection);
  await ensureEmailIndexes(email);
  smtp = await startSmtpCapture();
});
afterAll(async () => {
  await smtp?.close();
  await store?.connection.dropDatabase().catch(() => undefined);
  await store?.close();
});

function message(key: string) {
  return {
    _id: key,
    account: 'support',
    mailbox: 'INBOX',
    uidValidity: '1',
    uid: 1,
    messageId: `<${key}@mail.example.com>`,
    from: 'grace@example.com',
    subject: 'Charge I never made',
    receivedAt: T0,
  };
}

let round = 0;

/** `readers` readers that never held the message (each round new ones) claim it at once. */
async function takeOverConcurrently(key: string, at: Date, readers: number) {
  const names = Array.from({ length: readers }, (_, i) => `reader-${round}-${i}`);
  round++;
  const claims = await Promise.all(names.map((name) => claimMessage(email, message(key), name, at, LEASE_MS)));
  const winners = names.filter((_, i) => claims[i]?.state === 'claimed');
  const doc = await email.messages.findById(key).lean();
  return { claims, winners, doc };
}

describe('taking over a dead reader’s message', () => {
  it('lets exactly one of 20 concurrent readers take over an expired claim, generation after generation', async () => {
    const key = 'mid:takeover';
    expect((await claimMessage(email, message(key), 'dead-reader', T0, LEASE_MS)).state).toBe('claimed');
    // While the lease holds, nobody else gets it.
    const early = await takeOverConcurrently(key, later(LEASE_MS / 2), 20);
    expect(early.winners).toEqual([]);

    const first = await takeOverConcurrently(key, later(LEASE_MS + 1_000), 20);
    expect(first.winners).toHaveLength(1);
    expect(first.claims.filter((c) => c.state === 'busy')).toHaveLength(19);
    expect(first.doc?.lease).toMatchObject({ owner: first.winners[0], gen: 2 });

    // That reader died too: the next generation again has exactly one owner.
    const second = await takeOverConcurrently(key, later(2 * LEASE_MS + 2_000), 20);
    expect(second.winners).toHaveLength(1);
    expect(second.doc?.lease).toMatchObject({ owner: second.winners[0], gen: 3 });
  });

  it('takes over a lease written before generations existed, and one whose winner died before writing it', async () => {
    const key = 'mid:legacy-lease';
    expect((await claimMessage(email, message(key), 'old-reader', T0, LEASE_MS)).state).toBe('claimed');
    await email.messages.collection.updateOne({ _id: key } as never, {
      $set: { lease: { owner: 'old-reader', until: later(LEASE_MS) } },
    });
    const taken = await takeOverConcurrently(key, later(LEASE_MS + 1_000), 20);
    expect(taken.winners).toHaveLength(1);
    expect(taken.doc?.lease).toMatchObject({ owner: taken.winners[0], gen: 2 });

    // Generation 3 claimed by a reader that died before writing its lease on the message.
    await email.claims.create({ _id: `lease:${key}:3`, by: key, at: later(2 * LEASE_MS + 1_000) });
    const blocked = await takeOverConcurrently(key, later(2 * LEASE_MS + 2_000), 5);
    expect(blocked.winners).toEqual([]);
    const after = await takeOverConcurrently(key, later(3 * LEASE_MS + 2_000), 20);
    expect(after.winners).toHaveLength(1);
    expect(after.doc?.lease).toMatchObject({ owner: after.winners[0], gen: 4 });
  });

  it('reports a message finished while the takeover was decided as finished', async () => {
    const key = 'mid:finished';
    await claimMessage(email, message(key), 'reader-a', T0, LEASE_MS);
    await email.messages.updateOne({ _id: key }, { $set: { status: 'done', lease: null } });
    const claim = await claimMessage(email, message(key), 'reader-b', later(LEASE_MS + 1_000), LEASE_MS);
    expect(claim.state).toBe('finished');
  });
});

const CUSTOMER = 'grace@example.com';

async function thread(key: string): Promise<ThreadDoc> {
  const doc = await email.threads.findById(key).lean<ThreadDoc>();
  if (!doc) throw new Error(`no thread ${key}`);
  return doc;
}

describe('follow-ups in one thread', () => {
  it('gives 20 concurrent follow-ups 20 distinct numbers, finds each by its Message-ID and keeps the stage', async () => {
    const key = '<race-thread@mail.example.com>';
    const opened = { subject: 'Charge', customer: CUSTOMER, messageIds: [key], stage: 'intake' as const };
    await openThread(email, key, { ...opened, lastSeq: 1 }, T0);
    const t = await thread(key);
    const ids = Array.from({ length: 20 }, (_, i) => `<race-follow-${i}@mail.example.com>`);
    // The intake run moves the thread on while the follow-ups arrive: nothing the reader does may undo that.
    const [seqs] = await Promise.all([
      Promise.all(ids.map((id, i) => appendToThread(email, t, { messageId: id, messageKey: `mid:f${i}` }, T0))),
      email.threads.updateOne({ _id: key }, { $set: { stage: 'case', caseRunId: 'run_case' } }),
    ]);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
    for (const id of ids) {
      expect((await openThreadsWith(email, [id])).map((x) => x._id)).toEqual([key]);
    }
    expect(new Set(await threadMessageIds(email, t))).toEqual(new Set([key, ...ids]));
    expect(await thread(key)).toMatchObject({ stage: 'case', caseRunId: 'run_case' });

    // A retry of a message already numbered (its reader died after numbering it) keeps its number.
    const again = await appendToThread(email, t, { messageId: ids[3] ?? '', messageKey: 'mid:f3' }, later(LEASE_MS));
    expect(again).toBe(seqs[3]);
  });

  it('still finds and numbers a thread written by the previous version', async () => {
    const key = '<legacy-thread@mail.example.com>';
    const ours = '<legacy-ours@northwind.test>';
    const reply = '<legacy-reply@mail.example.com>';
    // As the previous code left it: every Message-ID in the array, `lastSeq` counted up, our writes listed.
    await email.threads.collection.insertOne({
      _id: key,
      v: 1,
      subject: 'Charge',
      customer: CUSTOMER,
      messageIds: [key, ours, reply],
      stage: 'intake',
      writes: [T0],
      lastSeq: 2,
      createdAt: T0,
      updatedAt: T0,
    } as never);
    expect((await openThreadsWith(email, [reply])).map((x) => x._id)).toEqual([key]);
    expect((await openThreadsWith(email, [ours])).map((x) => x._id)).toEqual([key]);
    const t = await thread(key);
    const next = '<legacy-next@mail.example.com>';
    expect(await appendToThread(email, t, { messageId: next, messageKey: 'mid:legacy-next' }, T0)).toBe(3);
    expect(await threadMessageIds(email, t)).toEqual([key, ours, reply, next]);
  });
});

describe('our messages in one thread', () => {
  it('records 10 concurrent sends, finds the thread by each, and counts them all towards the cap', async () => {
    const key = '<race-sends@mail.example.com>';
    const opened = { subject: 'Charge', customer: CUSTOMER, messageIds: [key], stage: 'intake' as const };
    await openThread(email, key, { ...opened, lastSeq: 1 }, new Date());
    const mailer = createMailer({
      transport: nodemailer.createTransport(smtp.url),
      from: 'Countersign <support@northwind.test>',
      store,
      failpoints: createFailpoints(new Set(), silent),
      logger: silent,
    });
    const threadMail = createThreadMail({
      mailer,
      email,
      effects: store.effects,
      maxPerHour: 10,
      autoReply: { limit: 100, windowMs: 3_600_000 },
    });
    const ref = { messageId: key, references: [], subject: 'Charge', to: CUSTOMER };
    const send = (i: number) =>
      threadMail.send(key, ref, { text: `Message ${i}` }, `race-send/${i}`, 'email-question', { automatic: false });

    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => send(i)));
    const sentIds = results.map((r) => (r.sent ? r.messageId : ''));
    expect(results.every((r) => r.sent && !r.skipped)).toBe(true);
    expect(new Set(sentIds).size).toBe(10);
    for (const id of sentIds) {
      await smtp.waitFor((m) => m.messageId === id);
      expect((await openThreadsWith(email, [id])).map((x) => x._id)).toEqual([key]);
    }
    expect(await email.sent.countDocuments({ threadKey: key })).toBe(10);

    // The eleventh within the hour is held back; a retry of one that went out is not.
    expect(await send(10)).toMatchObject({ sent: false, reason: 'thread-limit' });
    expect(await send(4)).toMatchObject({ sent: true, skipped: true, messageId: sentIds[4] });
    // The thread document itself was not written by any send.
    expect(await thread(key)).toMatchObject({ messageIds: [key], stage: 'intake' });
  });
});

describe('indexes', () => {
  it('serves the per-thread cap and a thread’s Message-IDs from an index', async () => {
    const sentIndexes = await email.sent.collection.indexes();
    expect(sentIndexes.map((i) => i.key)).toContainEqual({ threadKey: 1, sentAt: 1 });
    const idIndexes = await email.threadIds.collection.indexes();
    expect(idIndexes.map((i) => i.key)).toContainEqual({ threadKey: 1 });
  });
});
