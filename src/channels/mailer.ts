import { createHash } from 'node:crypto';
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Failpoints } from '../engine/failpoints.js';
import { NonRetryable, Retryable } from '../errors.js';
import { throughOutage } from '../outage-retry.js';
import type { Store } from '../store/models.js';

export interface OutboundMail {
  to: string[];
  subject: string;
  text: string;
  html?: string;
  inReplyTo?: string;
  references?: string[];
}

export interface Mailer {
  /**
   * Sends once per `effectKey`: a key already marked sent is skipped, and a retry after a crash reuses the same
   * Message-ID so a receiving system can still tell the copies apart.
   */
  send(mail: OutboundMail, effectKey: string, kind?: string): Promise<{ messageId: string; skipped: boolean }>;
  /** The Message-ID `send` gives the message of `effectKey`, known before sending (a reply may beat our record). */
  messageIdFor(effectKey: string): string;
}

function messageIdFor(effectKey: string, domain: string): string {
  return `<${createHash('sha256').update(effectKey).digest('hex').slice(0, 32)}@${domain}>`;
}

export function createMailer(deps: {
  transport: Transporter | undefined;
  from: string;
  store: Pick<Store, 'effects'>;
  failpoints: Failpoints;
  logger: Logger;
}): Mailer {
  const domain = /@([^>\s]+)/.exec(deps.from)?.[1] ?? 'countersign.local';
  return {
    messageIdFor: (effectKey) => messageIdFor(effectKey, domain),
    async send(mail, effectKey, kind = 'email') {
      const messageId = messageIdFor(effectKey, domain);
      const _id = `email:${effectKey}`;
      const now = new Date();
      const effect = await deps.store.effects
        .findOneAndUpdate(
          { _id },
          {
            $setOnInsert: { v: 1, kind, status: 'sending', createdAt: now, detail: { messageId, to: mail.to } },
            $inc: { attempts: 1 },
            $set: { updatedAt: now },
          },
          { upsert: true, returnDocument: 'after' },
        )
        .lean();
      if (effect?.status === 'done') return { messageId, skipped: true };
      if (!deps.transport) throw new NonRetryable('SMTP_URL is not set: email cannot be sent');
      try {
        await deps.transport.sendMail({
          from: deps.from,
          to: mail.to,
          subject: mail.subject,
          text: mail.text,
          ...(mail.html ? { html: mail.html } : {}),
          messageId,
          ...(mail.inReplyTo ? { inReplyTo: mail.inReplyTo } : {}),
          ...(mail.references ? { references: mail.references } : {}),
          headers: { 'Auto-Submitted': 'auto-generated', 'X-Countersign-Effect': kind },
        });
      } catch (err) {
        const code = (err as { responseCode?: number }).responseCode;
        const message = `SMTP refused or failed: ${(err as Error).message}`;
        // 5xx is a permanent refusal (bad address, policy); anything else may pass on retry.
        if (code !== undefined && code >= 500) throw new NonRetryable(message);
        throw new Retryable(message);
      }
      deps.failpoints.hit(`after-smtp:${kind}`);
      // Sent: a `done` lost to an outage would have the next try send it again.
      await throughOutage(() =>
        deps.store.effects.updateOne({ _id }, { $set: { status: 'done', updatedAt: new Date() } }),
      );
      deps.logger.info({ kind, to: mail.to.length }, 'email sent');
      return { messageId, skipped: false };
    },
  };
}
