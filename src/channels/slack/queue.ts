import { type ConnectionOptions, type Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { SlackJob } from './deps.js';

const SLACK_QUEUE = 'slack';

/** The queue that lets every Slack request be acknowledged at once: clicks, mentions and App Home work wait here. */
export function createSlackQueue(connection: Redis, prefix: string) {
  const queue = new Queue<SlackJob>(SLACK_QUEUE, { connection: connection as ConnectionOptions, prefix });
  return {
    queue,
    async enqueue(job: SlackJob) {
      await queue.add(job.kind, job, {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1_000 },
        removeOnComplete: true,
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    },
    close: () => queue.close(),
  };
}

export function startSlackWorker(o: {
  connection: Redis;
  prefix: string;
  concurrency: number;
  logger: Logger;
  handle(job: SlackJob): Promise<void>;
}) {
  const connection = o.connection.duplicate() as ConnectionOptions;
  const worker = new Worker<SlackJob>(SLACK_QUEUE, (job: Job<SlackJob>) => o.handle(job.data), {
    connection,
    prefix: o.prefix,
    concurrency: o.concurrency,
  });
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
