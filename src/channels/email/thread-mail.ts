import type { Store } from '../../store/models.js';
import type { Mailer } from '../mailer.js';
import type { EmailStore } from './store.js';
import { replyHeaders, type ThreadRef } from './threading.js';

export interface ThreadMailOptions {
  mailer: Mailer;
  email: EmailStore;
  effects: Store['effects'];
  now?: () => Date;
  /** Messages we write into one thread per hour; a loop breaker for anything the header checks miss. */
  maxPerHour?: number;
}

export type ThreadSend =
  | { sent: true; messageId: string; skipped: boolean }
  /** The cap was reached: nothing went out. */
  | { sent: false; reason: 'capped' };

/**
 * Writes to a customer in their thread, once per effect key (the mailer's idempotency), at most `maxPerHour`
 * times per thread, and records our Message-ID on the thread so the customer's answer to it finds the case.
 */
export function createThreadMail(opts: ThreadMailOptions) {
  const now = opts.now ?? (() => new Date());
  const cap = opts.maxPerHour ?? 4;
  return {
    async send(
      threadKey: string,
      ref: ThreadRef,
      content: { text: string; html?: string },
      effectKey: string,
      kind: string,
    ): Promise<ThreadSend> {
      const thread = await opts.email.threads.findById(threadKey).lean();
      const at = now();
      const recent = (thread?.writes ?? []).filter((w) => at.getTime() - new Date(w).getTime() < 3_600_000);
      // A retry of a send that already went out must not be stopped by the cap it counted towards.
      const already = Boolean(await opts.effects.exists({ _id: `email:${effectKey}`, status: 'done' }));
      if (!already && recent.length >= cap) return { sent: false, reason: 'capped' };
      const mail = { to: [ref.to ?? thread?.customer ?? ''], ...replyHeaders(ref), ...content };
      const result = await opts.mailer.send(mail, effectKey, kind);
      if (!result.skipped) {
        await opts.email.threads.updateOne(
          { _id: threadKey },
          { $push: { writes: at }, $addToSet: { messageIds: result.messageId }, $set: { updatedAt: at } },
        );
      }
      return { sent: true, ...result };
    },
  };
}
export type ThreadMail = ReturnType<typeof createThreadMail>;
