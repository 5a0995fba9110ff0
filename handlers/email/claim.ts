import { createHash } from 'node:crypto';
import type { EmailStore, MessageDoc, MessageStatus } from '../../src/channels/email/store.js';
import { isDuplicateKey } from '../../src/store/models.js';

/**
 * Each message is claimed by a unique `_id` before anything is done with it. The key is the Message-ID when there
 * is one, so the same message seen again under another UID (a restored mailbox with a new UIDVALIDITY, a copy
 * dragged back into the inbox) is recognised and nothing is replayed.
 */
export function claimKey(
  messageId: string | undefined,
  at: { account: string; mailbox: string; uidValidity: string; uid: number },
): string {
  if (messageId) return `mid:${createHash('sha256').update(messageId.trim()).digest('hex')}`;
  return `uid:${at.account}|${at.mailbox}|${at.uidValidity}|${at.uid}`;
}

export type Claim =
  /** Ours to process (new, or an earlier attempt died before finishing: every action is idempotent). */
  | { state: 'claimed'; doc: MessageDoc }
  /** Finished before: only the move to its folder may be missing. */
  | { state: 'finished'; doc: MessageDoc }
  /** Another reader holds it right now. */
  | { state: 'busy' };

const FINISHED: MessageStatus[] = ['done', 'ignored', 'quarantined'];

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
