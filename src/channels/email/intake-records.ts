import { isDuplicateKey } from '../../duplicate-key.js';
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

/** Claims a message by its unique key before anything is done with it; a dead reader's lease is taken over. */
export async function claimMessage(
  email: EmailStore,
  base: Omit<MessageDoc, 'status' | 'lease' | 'attachments' | 'seq' | 'updatedAt' | 'v'>,
  owner: string,
  now: Date,
  leaseMs = 60_000,
): Promise<Claim> {
  const lease = { owner, until: new Date(now.getTime() + leaseMs) };
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
  // An unfinished claim whose lease ran out belonged to a reader that died: take it over.
  const taken = await email.messages
    .findOneAndUpdate(
      {
        _id: base._id,
        status: 'processing',
        $or: [{ lease: null }, { 'lease.until': { $lt: now } }, { 'lease.owner': owner }],
      },
      { $set: { lease, updatedAt: now } },
      { returnDocument: 'after' },
    )
    .lean<MessageDoc>();
  return taken ? { state: 'claimed', doc: taken } : { state: 'busy' };
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

/** The open threads that hold any of these Message-IDs. */
export function openThreadsWith(email: EmailStore, messageIds: readonly string[]): Promise<ThreadDoc[]> {
  return email.threads
    .find({ messageIds: { $in: messageIds }, stage: { $ne: 'closed' } })
    .lean<ThreadDoc[]>()
    .exec();
}

/** Threads one sender opened since `since` (the per-sender cap on new cases). */
export function threadsOpenedSince(email: EmailStore, customer: string, since: Date): Promise<number> {
  return email.threads.countDocuments({ customer, createdAt: { $gte: since } }).exec();
}

/** Opens a thread (idempotent: a retry finds it). `stage` is `intake` for a new case, `closed` for a refusal. */
export async function openThread(
  email: EmailStore,
  threadKey: string,
  t: { subject: string; customer: string; messageIds: string[]; stage: 'intake' | 'closed'; lastSeq: number },
  now: Date,
): Promise<void> {
  await email.threads.updateOne(
    { _id: threadKey },
    {
      $setOnInsert: {
        v: 1,
        subject: t.subject,
        customer: t.customer,
        messageIds: t.messageIds,
        stage: t.stage,
        writes: [],
        lastSeq: t.lastSeq,
        createdAt: now,
      },
      ...(t.stage === 'intake' ? { $set: { updatedAt: now } } : {}),
    },
    { upsert: true },
  );
}

/** Adds a follow-up to its thread and returns its sequence number in the thread. */
export async function appendToThread(email: EmailStore, threadKey: string, messageId: string): Promise<number> {
  const t = await email.threads
    .findOneAndUpdate(
      { _id: threadKey },
      { $inc: { lastSeq: 1 }, $addToSet: { messageIds: messageId } },
      { returnDocument: 'after' },
    )
    .lean<ThreadDoc>();
  return t?.lastSeq ?? 0;
}

/** The run a new thread started. */
export async function linkIntakeRun(email: EmailStore, threadKey: string, runId: string): Promise<void> {
  await email.threads.updateOne({ _id: threadKey }, { $set: { intakeRunId: runId } });
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
