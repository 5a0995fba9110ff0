import { isDuplicateKey, type Store } from '../../store/models.js';
import type { Mailer } from '../mailer.js';
import { type AutoReplyLimit, claimAutoSlot } from './auto-limit.js';
import type { EmailStore, SuppressionReason } from './store.js';
import { replyHeaders, type ThreadRef } from './threading.js';

export interface ThreadMailOptions {
  mailer: Mailer;
  email: EmailStore;
  effects: Store['effects'];
  now?: () => Date;
  /** Messages we write into one thread per hour; a loop breaker for anything the header checks miss. */
  maxPerHour?: number;
  /** Automatic messages one address may get across all its threads (EMAIL_AUTO_REPLY_LIMIT / _WINDOW_MINUTES). */
  autoReply?: AutoReplyLimit;
}

const DEFAULT_AUTO_REPLY_LIMIT: AutoReplyLimit = { limit: 4, windowMs: 24 * 3_600_000 };

export type ThreadSend =
  | { sent: true; messageId: string; skipped: boolean }
  /** Held back by a loop breaker and recorded in `email_suppressed`: nothing went out. */
  | { sent: false; reason: Exclude<SuppressionReason, 'reply-to-automatic'>; detail: string };

export interface ThreadSendOptions {
  /**
   * Sent without a person's decision (receipts, questions, refusals, no-answer notices): counts towards the
   * per-address limit, and a reply to it without new human words is not answered. Default true.
   */
  automatic?: boolean;
  runId?: string;
}

/**
 * Writes to a customer in their thread, once per effect key (the mailer's idempotency), at most `maxPerHour`
 * times per thread and `autoReply.limit` automatic messages per address and window, and records our Message-ID
 * in `email_sent` with its thread (so the customer's answer finds the case and is known as a reply to us).
 * It never writes the thread document: that has one writer (see ThreadDoc), and `email_sent` is append-only.
 */
export function createThreadMail(opts: ThreadMailOptions) {
  const now = opts.now ?? (() => new Date());
  const cap = opts.maxPerHour ?? 4;
  const autoReply = opts.autoReply ?? DEFAULT_AUTO_REPLY_LIMIT;

  async function suppress(
    effectKey: string,
    fields: { address: string; reason: Exclude<SuppressionReason, 'reply-to-automatic'>; kind: string; detail: string },
    threadKey: string,
    runId: string | undefined,
  ): Promise<ThreadSend> {
    await opts.email.suppressed
      .create({ _id: `send:${effectKey}`, ...fields, threadKey, ...(runId ? { runId } : {}), at: now() })
      .catch((err: unknown) => {
        if (!isDuplicateKey(err)) throw err;
      });
    return { sent: false, reason: fields.reason, detail: fields.detail };
  }

  return {
    async send(
      threadKey: string,
      ref: ThreadRef,
      content: { text: string; html?: string },
      effectKey: string,
      kind: string,
      options: ThreadSendOptions = {},
    ): Promise<ThreadSend> {
      const automatic = options.automatic ?? true;
      const thread = await opts.email.threads.findById(threadKey).lean();
      const at = now();
      const address = (ref.to ?? thread?.customer ?? '').trim().toLowerCase();
      // A retry of a send that already went out must not be stopped by the caps it counted towards.
      const already = Boolean(await opts.effects.exists({ _id: `email:${effectKey}`, status: 'done' }));
      if (!already) {
        // Every message we ever wrote to a thread is in `email_sent` (earlier versions recorded them there too,
        // besides the thread's old `writes` array), so counting it alone counts each once.
        const recent = await opts.email.sent.countDocuments({
          threadKey,
          sentAt: { $gt: new Date(at.getTime() - 3_600_000) },
        });
        if (recent >= cap) {
          const detail = `${recent} messages to this thread in the last hour (at most ${cap})`;
          return suppress(effectKey, { address, reason: 'thread-limit', kind, detail }, threadKey, options.runId);
        }
        if (automatic) {
          const slot = await claimAutoSlot(opts.email.autoSlots, address, effectKey, autoReply, at);
          if (!slot.ok) {
            const detail = `${autoReply.limit} automatic messages to ${address} within ${autoReply.windowMs / 60_000} minutes; next possible at ${slot.until.toISOString()}`;
            return suppress(effectKey, { address, reason: 'address-limit', kind, detail }, threadKey, options.runId);
          }
        }
      }
      // Recorded before sending (and again on retries, an upsert by Message-ID): a vacation responder may answer
      // faster than we could write the record afterwards, and its reply must be recognised as one to us.
      await opts.email.sent.updateOne(
        { _id: opts.mailer.messageIdFor(effectKey) },
        {
          $setOnInsert: {
            to: address,
            kind,
            automatic,
            threadKey,
            ...(options.runId ? { runId: options.runId } : {}),
            sentAt: at,
          },
        },
        { upsert: true },
      );
      const mail = { to: [address], ...replyHeaders(ref), ...content };
      const result = await opts.mailer.send(mail, effectKey, kind);
      return { sent: true, ...result };
    },
  };
}
export type ThreadMail = ReturnType<typeof createThreadMail>;
