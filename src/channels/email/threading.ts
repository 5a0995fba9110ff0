import { z } from 'zod';

/** Where a reply goes in a customer's thread: the message we answer, the chain before it, the subject. */
export const threadRefSchema = z.object({
  messageId: z.string().min(3).max(998),
  references: z.array(z.string().max(998)).max(100),
  subject: z.string().max(998),
  /** Who wrote the thread, when not the account's address (replies stay in the conversation the customer started). */
  to: z.string().max(320).optional(),
});
export type ThreadRef = z.infer<typeof threadRefSchema>;

/** `Re: subject` once, however many times the thread has gone back and forth (and whatever the case of "RE:"). */
function replySubject(subject: string): string {
  const bare = subject.replace(/^\s*((re|aw|sv|fwd?)\s*(\[\d+\])?\s*:\s*)+/i, '').trim();
  return `Re: ${bare || 'your message'}`;
}

/**
 * RFC 5322 §3.6.4: In-Reply-To is the message answered; References is its References plus its Message-ID.
 * Long chains keep the first and the last ids, which is what clients need to thread.
 */
export function replyHeaders(ref: ThreadRef): { subject: string; inReplyTo: string; references: string[] } {
  const chain = [...ref.references.filter((r) => r !== ref.messageId), ref.messageId];
  const references = chain.length > 20 ? [chain[0] as string, ...chain.slice(-19)] : chain;
  return { subject: replySubject(ref.subject), inReplyTo: ref.messageId, references };
}
