import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { outagesAreNotAttempts } from '../../outage-retry.js';
import type { SlackJob } from './deps.js';

const SLACK_QUEUE = 'slack';

/** The queue that lets every Slack request be acknowledged at once: clicks, mentions and App Home work wait here. */
export function createSlackQueue(connection: Redis, prefix: string) {
  const queue = new Queue<SlackJob>(SLACK_QUEUE, { connection: connection as ConnectionOptions, prefix });
  // Redis errors are the dependency monitor's to report (src/dependency-health.ts); unheard, BullMQ prints each one.
  queue.on('error', () => {});
  return {
    queue,
    async enqueue(job: SlackJob, options: { delayMs?: number; jobId?: string } = {}) {
      await queue.add(job.kind, job, {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: true,
        removeOnFail: { age: 7 * 24 * 3600 },
        ...(options.delayMs ? { delay: options.delayMs } : {}),
        ...(options.jobId ? { jobId: options.jobId } : {}),
      });
    },
    /** Withdraws a job not yet started (a safety net no longer needed); false when it is gone or running. */
    async withdraw(jobId: string): Promise<boolean> {
      const job = await queue.getJob(jobId);
      if (!job) return false;
      return job.remove().then(
        () => true,
        () => false,
      );
    },
    close: () => queue.close(),
  };
}

export function startSlackWorker(o: {
  connection: Redis;
  prefix: string;
  concurrency: number;
  logger: Logger;
  health?: { report(err: unknown): boolean };
  /** `jobId` is the same on every attempt of one job, so a retry can tell its own claims from another's. */
  handle(job: SlackJob, jobId: string | undefined): Promise<void>;
}) {
  const connection = o.connection.duplicate() as ConnectionOptions;
  const worker = new Worker<SlackJob>(
    SLACK_QUEUE,
    (job: Job<SlackJob>, token?: string) => outagesAreNotAttempts(o, job, token, () => o.handle(job.data, job.id)),
    {
      connection,
      prefix: o.prefix,
      concurrency: o.concurrency,
      // A job whose worker died is taken up again; only a job that keeps killing workers is given up. BullMQ's
      // default (1) lost Slack mentions in the chaos suite, where workers die every few seconds; nothing in the
      // store would bring such a job back.
      maxStalledCount: 10,
    },
  );
  worker.on('failed', (job, err) =>
    o.logger.warn({ queue: SLACK_QUEUE, jobId: job?.id, err: err.message }, 'job failed'),
  );
  worker.on('error', (err) => o.logger.error({ queue: SLACK_QUEUE, err: err.message }, 'worker error'));
  return {
    async close() {
      await worker.close();
      await (connection as { quit(): Promise<unknown> }).quit().catch(() => {});
    },
  };
}
