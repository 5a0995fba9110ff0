import { randomUUID } from 'node:crypto';
import type { MailboxIntakeOptions } from '../../src/channels/email/wiring.js';
import { type AttachmentLimits, DEFAULT_LIMITS } from './limits.js';
import { type MailboxReader, parseImapUrl, type ReaderOptions, startMailboxReader } from './reader.js';

export interface EmailIntakeOptions extends MailboxIntakeOptions {
  limits?: AttachmentLimits;
  folders?: ReaderOptions['folders'];
  pollMs?: number;
  onMessage?: ReaderOptions['onMessage'];
  now?: () => Date;
}

/** Starts reading the intake mailbox (`countersign start` / `worker` with IMAP_URL set). */
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
      routes: o.routes,
      limits: o.limits ?? DEFAULT_LIMITS,
      ownAddresses: o.ownAddresses.map((a) => a.toLowerCase()),
      authservId: o.authservId,
      maxNewThreadsPerSenderPerHour: 5,
      owner: `reader-${randomUUID()}`,
      now: o.now ?? (() => new Date()),
    },
  });
}
