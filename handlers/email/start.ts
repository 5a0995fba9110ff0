import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { EmailStore } from '../../src/channels/email/store.js';
import type { ThreadMail } from '../../src/channels/email/thread-mail.js';
import type { Engine } from '../../src/engine/types.js';
import { type AttachmentLimits, DEFAULT_LIMITS } from './limits.js';
import { type MailboxReader, parseImapUrl, type ReaderOptions, startMailboxReader } from './reader.js';
import { DEFAULT_ROUTES, type EmailRoute } from './routes.js';

export interface EmailIntakeOptions {
  imapUrl: string;
  mailbox: string;
  authservId: string | undefined;
  /** MAIL_FROM and anything else we send as: their mail coming back is never a customer's. */
  ownAddresses: string[];
  engine: Engine;
  email: EmailStore;
  threadMail: ThreadMail;
  logger: Logger;
  routes?: EmailRoute[];
  limits?: AttachmentLimits;
  folders?: ReaderOptions['folders'];
  pollMs?: number;
  onMessage?: ReaderOptions['onMessage'];
  now?: () => Date;
}

/** Starts reading the dispute mailbox (`countersign start` / `worker` with IMAP_URL set). */
export function startEmailIntake(o: EmailIntakeOptions): MailboxReader {
  return startMailboxReader({
    target: parseImapUrl(o.imapUrl, o.mailbox),
    email: o.email,
    logger: o.logger,
    ...(o.folders ? { folders: o.folders } : {}),
    ...(o.pollMs ? { pollMs: o.pollMs } : {}),
    ...(o.onMessage ? { onMessage: o.onMessage } : {}),
    process: {
      engine: o.engine,
      email: o.email,
      threadMail: o.threadMail,
      routes: o.routes ?? DEFAULT_ROUTES,
      limits: o.limits ?? DEFAULT_LIMITS,
      ownAddresses: o.ownAddresses.map((a) => a.toLowerCase()),
      authservId: o.authservId,
      maxNewThreadsPerSenderPerHour: 5,
      owner: `reader-${randomUUID()}`,
      now: o.now ?? (() => new Date()),
    },
  });
}
