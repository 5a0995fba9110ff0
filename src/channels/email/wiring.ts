import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createEmailIntakeWorkflow } from '../../../agents/disputes/email-intake.js';
import { createIntakeAgent } from '../../../agents/disputes/intake-agent.js';
import { startEmailIntake } from '../../../handlers/email/start.js';
import type { Config } from '../../config.js';
import { startDigest } from '../../digest/scheduler.js';
import type { Engine } from '../../engine/types.js';
import type { CheckpointDoc, Store } from '../../store/models.js';
import type { Mailer } from '../mailer.js';
import { emailCheckpointChannel } from './checkpoint-channel.js';
import { emailModels, ensureEmailIndexes } from './store.js';
import { createThreadMail } from './thread-mail.js';

/**
 * Everything email adds to the app, built in one place so the composition root stays short: the intake
 * workflow and agent, the checkpoint channel, and (in worker processes) the mailbox reader and the digest.
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
}) {
  const email = emailModels(o.store.connection);
  const threadMail = createThreadMail({
    mailer: o.mailer,
    email,
    effects: o.store.effects,
    autoReply: o.config.autoReply,
  });
  const intakeAgent = createIntakeAgent();
  const workflow = createEmailIntakeWorkflow({ intakeAgent, threadMail, email, engine: o.engine });
  const channel = emailCheckpointChannel({ mailer: o.mailer, store: o.store, email, linkFor: o.linkFor });
  const fromAddress = /<([^>]+)>/.exec(o.config.mailFrom)?.[1] ?? o.config.mailFrom;

  /** Starts the mailbox reader when IMAP_URL is set and the digest when DIGEST_TO and DIGEST_CRON are. */
  async function startWorkers(): Promise<{ close(): Promise<void> }> {
    const { config } = o;
    await ensureEmailIndexes(email);
    const reader = config.imap.url
      ? startEmailIntake({
          imapUrl: config.imap.url,
          mailbox: config.imap.mailbox,
          authservId: config.imap.authservId,
          ownAddresses: [fromAddress].filter((a) => a.includes('@')),
          engine: o.engine(),
          email,
          threadMail,
          logger: o.logger,
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
          })
        : undefined;
    return {
      async close() {
        await reader?.stop();
        await digest?.close();
      },
    };
  }

  return { email, threadMail, intakeAgent, workflow, channel, startWorkers };
}
