import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { type Model, Schema } from 'mongoose';
import type { Logger } from 'pino';
import { z } from 'zod';
import { digestEmail } from '../../templates/email/digest.js';
import type { Mailer } from '../channels/mailer.js';
import { outagesAreNotAttempts } from '../outage-retry.js';
import { computeDigest, type DigestDeps, isEmpty } from './compute.js';

/**
 * The manager digest on a BullMQ job scheduler: one scheduler per recipient, so each gets DIGEST_CRON in their own
 * time zone. Upserting is idempotent, so every worker may do it on start; the scheduler id keeps one schedule per
 * recipient however many workers run.
 */
export interface DigestOptions extends DigestDeps {
  connection: Redis;
  prefix: string;
  mailer: Mailer;
  logger: Logger;
  recipients: string[];
  cron: string;
  timezones: Record<string, string>;
  sendEmpty: boolean;
  dashboardUrl: string;
  now?: () => Date;
}

const jobSchema = z.object({ recipient: z.email() });
const QUEUE = 'digest';
const FIRST_PERIOD_MS = 24 * 3_600_000;

interface DigestStateDoc {
  _id: string;
  lastSentAt: Date;
}

function stateModel(deps: DigestDeps): Model<DigestStateDoc> {
  const conn = deps.store.connection;
  return (
    (conn.models.DigestState as Model<DigestStateDoc> | undefined) ??
    conn.model<DigestStateDoc>(
      'DigestState',
      new Schema<DigestStateDoc>({ _id: String, lastSentAt: Date }, { versionKey: false, collection: 'digest_state' }),
    )
  );
}

/** Computes and sends one recipient's digest; the period runs from their last digest to now. */
export async function sendDigest(o: DigestOptions, recipient: string, runKey: string): Promise<'sent' | 'empty'> {
  const now = (o.now ?? (() => new Date()))();
  const state = stateModel(o);
  const last = await state.findById(recipient).lean<DigestStateDoc>();
  const from = last?.lastSentAt ? new Date(last.lastSentAt) : new Date(now.getTime() - FIRST_PERIOD_MS);
  const data = await computeDigest(o, recipient, from, now);
  if (isEmpty(data) && !o.sendEmpty) return 'empty';
  const mail = digestEmail(data, { timeZone: o.timezones[recipient] ?? 'UTC', dashboardUrl: o.dashboardUrl });
  await o.mailer.send({ to: [recipient], ...mail }, `digest/${recipient}/${runKey}`, 'digest');
  await state.updateOne({ _id: recipient }, { $set: { lastSentAt: now } }, { upsert: true });
  return 'sent';
}

export async function startDigest(o: DigestOptions): Promise<{ queue: Queue; close(): Promise<void> }> {
  const opts = { connection: o.connection as ConnectionOptions, prefix: o.prefix };
  const queue = new Queue(QUEUE, opts);
  // Redis errors are the dependency monitor's to report (src/dependency-health.ts); unheard, BullMQ prints each one.
  queue.on('error', () => {});
  for (const recipient of o.recipients) {
    await queue.upsertJobScheduler(
      `digest:${recipient}`,
      { pattern: o.cron, tz: o.timezones[recipient] ?? 'UTC' },
      { name: 'digest', data: { recipient }, opts: { removeOnComplete: true, removeOnFail: 100 } },
    );
  }
  const workerConnection = o.connection.duplicate();
  const worker = new Worker(
    QUEUE,
    (job: Job, token?: string) =>
      outagesAreNotAttempts(o, job, token, async () => {
        const { recipient } = jobSchema.parse(job.data);
        // One send per scheduled slot, even when the job is retried after a crash.
        const result = await sendDigest(o, recipient, String(job.opts.timestamp ?? job.timestamp));
        o.logger.info({ result }, 'digest');
      }),
    // A digest whose worker died is sent by the next one (its send is once per slot), not given up after one stall.
    { ...opts, connection: workerConnection as ConnectionOptions, concurrency: 1, maxStalledCount: 10 },
  );
  worker.on('failed', (_job, err) => o.logger.warn({ err: err.message }, 'digest failed'));
  return {
    queue,
    async close() {
      await worker.close();
      await queue.close();
      await workerConnection.quit().catch(() => {});
    },
  };
}
