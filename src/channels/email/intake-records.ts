import { isDuplicateKey } from '../../duplicate-key.js';
import { Retryable } from '../../errors.js';
import { firstFree } from './auto-limit.js';
import type { EmailStore, MessageDoc, MessageStatus, SentDoc, ThreadDoc } from './store.js';

/**
 * What the mailbox reader (handlers/email/) writes down about inbound mail, as functions over the email store:
 * the handler decides, these persist. Keeping every query here means the handlers never touch a collection, and
 * a change to how mail is stored stays in src/channels/email/.
 */

export type Claim =
  /** Ours to process (new, or an earlier attempt died before finishing: every action is idempotent). */
  | { state: 'claimed'; doc: MessageDoc }
  /** Finished before: only the move to its folder may be missing. */
  | { state: 'finished'; doc: MessageDoc }
  /** Another reader holds it right now. */
  | { state: 'busy' };

const FINISHED: MessageStatus[] = ['done', 'ignored', 'quarantined'];

/**
 * Claims a message by its unique key before anything is done with it; a dead reader's lease is taken over.
 * Both are unique inserts, never conditional updates (FerretDB 1.x lets several conditional updates of one
 * document succeed): the message document itself for the first reader, then `lease:<key>:<gen>` in
 * `email_claims` for each takeover, so exactly one reader wins each generation on either store.
 */
export async function claimMessage(
  email: EmailStore,
  base: Omit<MessageDoc, 'status' | 'lease' | 'attachments' | 'seq' | 'updatedAt' | 'v'>,
  owner: string,
  now: Date,
  leaseMs = 60_000,
): Promise<Claim> {
  const until = new Date(now.getTime() + leaseMs);
  const lease = { owner, until, gen: 1 };
  try {
    const doc: MessageDoc = { ...base, v: 1, status: 'processing', lease, attachments: [], seq: 0, updatedAt: now };
    await email.messages.create(doc);
    return { state: 'claimed', doc };
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
  const existing = await email.messages.findById(base._id).lean<MessageDoc>();
  if (!existing) return { state: 'busy' };
  if (FINISHED.includes(existing.status)) return { state: 'finished', doc: existing };
  const held = existing.lease;
  const mine = held?.owner === owner;
  if (!mine && held && new Date(held.until) > now) return { state: 'busy' };
  // Our own earlier attempt keeps its generation; an unfinished claim whose lease ran out belonged to a reader
  // that died, and the next generation's claim decides who takes it over.
  const gen = mine ? (held.gen ?? 1) : await claimLeaseGeneration(email, base._id, (held?.gen ?? 1) + 1, now, leaseMs);
  if (gen === null) return { state: 'busy' };
  const taken = { owner, until, gen };
  // Only the generation's winner writes the lease, so this plain update has no rival writer.
  const res = await email.messages.updateOne(
    { _id: base._id, status: 'processing' },
    { $set: { lease: taken, updatedAt: now } },
  );
  if (res.matchedCount === 0) {
    const done = await email.messages.findById(base._id).lean<MessageDoc>();
    return done ? { state: 'finished', doc: done } : { state: 'busy' };
  }
  return { state: 'claimed', doc: { ...existing, lease: taken, updatedAt: now } };
}

/**
 * Claims lease generation `gen` of a message. A claim older than a lease whose winner never wrote it on the
 * message (it died right after claiming) would block every later reader, so it counts as expired and the next
 * generation is tried, as the engine does for run leases (src/engine/pass.ts).
 */
async function claimLeaseGeneration(
  email: EmailStore,
  key: string,
  gen: number,
  now: Date,
  leaseMs: number,
): Promise<number | null> {
  for (let g = gen; g < gen + 5; g++) {
    const id = `lease:${key}:${g}`;
    if (await insertClaim(email, id, key, now)) return g;
    const blocking = await email.claims.findById(id).lean();
    if (!blocking || new Date(blocking.at).getTime() + leaseMs > now.getTime()) return null;
  }
  return null;
}

/** True for the one caller that inserted `id` first. */
async function insertClaim(email: EmailStore, id: string, by: string, at: Date): Promise<boolean> {
  try {
    await email.claims.create({ _id: id, by, at });
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}

export async function finishMessage(
  email: EmailStore,
  key: string,
  status: Exclude<MessageStatus, 'processing'>,
  fields: Partial<MessageDoc>,
  now: Date,
): Promise<void> {
  await email.messages.updateOne({ _id: key }, { $set: { ...fields, status, lease: null, updatedAt: now } });
}

/** One inbound message as staff see it (`GET /api/email/messages/:key`), or null. */
export function findMessage(email: EmailStore, key: string): Promise<MessageDoc | null> {
  return email.messages.findById(key).lean<MessageDoc>().exec();
}

/** Inbound messages with one status, newest first, received before `before` when given (staff's review). */
export function listMessages(
  email: EmailStore,
  q: { status: MessageStatus; before?: Date | undefined; limit: number },
): Promise<MessageDoc[]> {
  return email.messages
    .find({ status: q.status, ...(q.before ? { receivedAt: { $lt: q.before } } : {}) })
    .sort({ receivedAt: -1 })
    .limit(q.limit)
    .lean<MessageDoc[]>()
    .exec();
}

/** What we sent under any of these Message-IDs (at most 50 looked up). */
export function sentMessages(email: EmailStore, messageIds: readonly string[]): Promise<SentDoc[]> {
  return email.sent
    .find({ _id: { $in: messageIds.slice(0, 50) } })
    .lean<SentDoc[]>()
    .exec();
}

/** Writes an inbound suppression down once per message, for staff and for the loop test. */
export async function recordInboundSuppression(
  email: EmailStore,
  s: { messageKey: string; address: string; threadKey: string; runId?: string; detail: string; at: Date },
): Promise<void> {
  await email.suppressed
    .create({
      _id: `inbound:${s.messageKey}`,
      address: s.address,
      reason: 'reply-to-automatic',
      kind: 'inbound',
      threadKey: s.threadKey,
      ...(s.runId ? { runId: s.runId } : {}),
      messageKey: s.messageKey,
      detail: s.detail,
      at: s.at,
    })
    .catch((err: unknown) => {
      if (!isDuplicateKey(err)) throw err;
    });
}

/**
 * The open threads that hold any of these Message-IDs: a thread's first message (its key), a follow-up
 * (`email_thread_ids`), one of ours (`email_sent`), or an id in the `messageIds` array of a thread written by
 * an earlier version.
 */
export async function openThreadsWith(email: EmailStore, messageIds: readonly string[]): Promise<ThreadDoc[]> {
  const ids = [...new Set(messageIds)];
  const [followUps, ours] = await Promise.all([
    email.threadIds.find({ _id: { $in: ids } }, { threadKey: 1 }).lean<{ threadKey: string }[]>(),
    email.sent.find({ _id: { $in: ids } }, { threadKey: 1 }).lean<{ threadKey: string }[]>(),
  ]);
  const keys = [...new Set([...ids, ...followUps.map((d) => d.threadKey), ...ours.map((d) => d.threadKey)])];
  return email.threads
    .find({ $or: [{ _id: { $in: keys } }, { messageIds: { $in: ids } }], stage: { $ne: 'closed' } })
    .lean<ThreadDoc[]>()
    .exec();
}

/**
 * Every Message-ID known in a thread, oldest first (at most 50 of each kind): those it was opened with (and,
 * for threads written by an earlier version, everything appended to its array), then follow-ups and our own
 * messages in the order they were recorded.
 */
export async function threadMessageIds(
  email: EmailStore,
  thread: Pick<ThreadDoc, '_id' | 'messageIds'>,
): Promise<string[]> {
  const [followUps, ours] = await Promise.all([
    email.threadIds.find({ threadKey: thread._id }).sort({ at: 1 }).limit(50).lean(),
    email.sent.find({ threadKey: thread._id }).sort({ sentAt: 1 }).limit(50).lean(),
  ]);
  const appended = [
    ...followUps.map((d) => ({ id: d._id, at: new Date(d.at).getTime() })),
    ...ours.map((d) => ({ id: d._id, at: new Date(d.sentAt).getTime() })),
  ].sort((a, b) => a.at - b.at);
  return [...new Set([...thread.messageIds, ...appended.map((d) => d.id)])];
}

/** Threads one sender opened since `since` (the per-sender cap on new cases). */
export function threadsOpenedSince(email: EmailStore, customer: string, since: Date): Promise<number> {
  return email.threads.countDocuments({ customer, createdAt: { $gte: since } }).exec();
}

/**
 * Opens a thread by inserting it (idempotent: a retry finds it and changes nothing, since after this insert only
 * the thread's intake run writes the document). `stage` is `intake` for a new case, `closed` for a refusal.
 */
export async function openThread(
  email: EmailStore,
  threadKey: string,
  t: { subject: string; customer: string; messageIds: string[]; stage: 'intake' | 'closed'; lastSeq: number },
  now: Date,
): Promise<void> {
  const doc: ThreadDoc = { _id: threadKey, v: 1, ...t, createdAt: now, updatedAt: now };
  await email.threads.create(doc).catch((err: unknown) => {
    if (!isDuplicateKey(err)) throw err;
  });
}

/**
 * Records a follow-up in its thread and returns its sequence number there. Numbers are claims
 * `seq:<threadKey>:<n>` in `email_claims`, continuing after the thread's `lastSeq`: concurrent follow-ups
 * collide on the unique `_id` and move on to n+1, so each gets its own number on either store, and no shared
 * counter is updated. A retry of the same message finds its number in `email_thread_ids`.
 */
export async function appendToThread(
  email: EmailStore,
  thread: Pick<ThreadDoc, '_id' | 'lastSeq'>,
  f: { messageId: string; messageKey: string },
  now: Date,
): Promise<number> {
  const known = await email.threadIds.findById(f.messageId).lean();
  if (known) return known.seq;
  const base = thread.lastSeq ?? 1;
  const seqId = (n: number) => `seq:${thread._id}:${n}`;
  let n = base + (await firstFree(async (k) => Boolean(await email.claims.exists({ _id: seqId(base + k) }))));
  // Each lost race means another follow-up took n; this many in a row is a burst worth a later retry.
  for (let tries = 0; tries < 64; tries++, n++) {
    if (!(await insertClaim(email, seqId(n), f.messageKey, now))) continue;
    await email.threadIds
      .create({ _id: f.messageId, threadKey: thread._id, seq: n, messageKey: f.messageKey, at: now })
      .catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    return n;
  }
  throw new Retryable(`too many concurrent follow-ups in thread ${thread._id}; will try again`);
}

/** The run a thread's first message started (recorded on that message, not on the thread: one writer there). */
export async function intakeRunOf(email: EmailStore, threadKey: string): Promise<string | undefined> {
  const first = await email.messages
    .findOne({ threadKey, kind: 'new' }, { runId: 1 })
    .lean<Pick<MessageDoc, 'runId'>>();
  return first?.runId;
}

/** Stores an attachment's bytes once per content hash. */
export async function storeAttachment(
  email: EmailStore,
  a: { sha256: string; contentType: string; size: number; content: Buffer },
  now: Date,
): Promise<void> {
  await email.attachments.updateOne(
    { _id: a.sha256 },
    { $setOnInsert: { contentType: a.contentType, size: a.size, data: a.content, createdAt: now } },
    { upsert: true },
  );
}

/** Where a mailbox reader stopped: the UIDVALIDITY it read under and the last UID it finished. */
export function readCursor(
  email: EmailStore,
  cursorId: string,
): Promise<{ uidValidity: string; lastUid: number } | null> {
  return email.cursors.findById(cursorId).lean<{ uidValidity: string; lastUid: number }>().exec();
}

export async function saveCursor(
  email: EmailStore,
  cursorId: string,
  c: { uidValidity: string; lastUid: number },
  now: Date,
): Promise<void> {
  await email.cursors.updateOne({ _id: cursorId }, { $set: { ...c, updatedAt: now } }, { upsert: true });
}
