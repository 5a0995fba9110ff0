import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import { startDigest } from '../../digest/scheduler.js';
import type { Engine } from '../../engine/types.js';
import type { DigestSection } from '../../modules/types.js';
import type { CheckpointDoc, Store } from '../../store/models.js';
import type { Mailer } from '../mailer.js';
import { emailCheckpointChannel } from './checkpoint-channel.js';
import type { EmailRoute } from './routing.js';
import { type EmailStore, emailModels, ensureEmailIndexes } from './store.js';
import { createThreadMail, type ThreadMail } from './thread-mail.js';

/** What the mailbox reader (handlers/email/start.ts) needs; the composition root hands the reader in. */
export interface MailboxIntakeOptions {
  imapUrl: string;
  mailbox: string;
  authservId: string | undefined;
  /** MAIL_FROM and anything else we send as: their mail coming back is never a customer's. */
  ownAddresses: string[];
  engine: Engine;
  email: EmailStore;
  threadMail: ThreadMail;
  logger: Logger;
  /** From the configuration file and the modules' `intake.email`, first match wins. */
  routes: readonly EmailRoute[];
}

/** Email's inbound side (handlers/email/), handed to the platform by the composition root. */
export interface EmailInbound {
  startMailboxIntake(o: MailboxIntakeOptions): { stop(): Promise<void> };
}

/**
 * Everything email adds to the app, built in one place so the composition root stays short: the mail store,
 * the thread-aware sender, the checkpoint channel, and (in worker processes) the mailbox reader and the digest.
 */
export function createEmailParts(o: {
  config: Config;
  store: Store;
  mailer: Mailer;
  logger: Logger;
  redis: Redis;
  queuePrefix: string;
  engine(): Engine;
  linkFor(checkpoint: CheckpointDoc, recipient: string): string;
  /** The modules' digest sections (read when a digest is sent: modules are built after the email parts). */
  digestSections?(period: { from: Date; to: Date }): Promise<DigestSection[]>;
  inbound: EmailInbound;
  /** Read when the reader starts: the modules are built after the email parts they use. */
  routes(): readonly EmailRoute[];
}) {
  const email = emailModels(o.store.connection);
  const threadMail = createThreadMail({
    mailer: o.mailer,
    email,
    effects: o.store.effects,
    autoReply: o.config.autoReply,
  });
  const channel = emailCheckpointChannel({ mailer: o.mailer, store: o.store, email, linkFor: o.linkFor });
  const fromAddress = /<([^>]+)>/.exec(o.config.mailFrom)?.[1] ?? o.config.mailFrom;

  /** Starts the mailbox reader when IMAP_URL is set and the digest when DIGEST_TO and DIGEST_CRON are. */
  async function startWorkers(): Promise<{ close(): Promise<void> }> {
    const { config } = o;
    await ensureEmailIndexes(email);
    const reader = config.imap.url
      ? o.inbound.startMailboxIntake({
          imapUrl: config.imap.url,
          mailbox: config.imap.mailbox,
          authservId: config.imap.authservId,
          ownAddresses: [fromAddress].filter((a) => a.includes('@')),
          engine: o.engine(),
          email,
          threadMail,
          logger: o.logger,
          routes: o.routes(),
        })
      : undefined;
    const digest =
      config.digestTo.length > 0 && config.digestCron
        ? await startDigest({
            connection: o.redis,
            prefix: o.queuePrefix,
            mailer: o.mailer,
            logger: o.logger,
            recipients: config.digestTo,
            cron: config.digestCron,
            timezones: config.digest.timezones,
            sendEmpty: config.digest.sendEmpty,
            dashboardUrl: `${config.publicUrl}/`,
            engine: o.engine(),
            store: o.store,
            linkFor: o.linkFor,
            ...(o.digestSections ? { sections: o.digestSections } : {}),
          })
        : undefined;
    return {
      async close() {
        await reader?.stop();
        await digest?.close();
      },
    };
  }

  return { email, threadMail, channel, startWorkers };
}
