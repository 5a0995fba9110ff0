import { createHash } from 'node:crypto';

/**
 * Each message is claimed by a unique `_id` before anything is done with it (claimMessage in
 * src/channels/email/intake-records.ts). The key is the Message-ID when there
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
