import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { redisUrl } from './env.js';
import { waitFor } from './imap-app.js';

/** A read-only view of the app's `slack` queue, so tests can wait until every queued Slack job has run. */
export function watchSlackQueue(prefix: string) {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue('slack', { connection: redis, prefix });
  return {
    /** Resolves once no Slack job waits, runs or is scheduled for a retry. */
    async idle(timeoutMs = 30_000) {
      await waitFor(
        'slack queue idle',
        async () => {
          const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
          return Object.values(counts).every((n) => n === 0);
        },
        timeoutMs,
      );
    },
    async close() {
      await queue.close();
      await redis.quit();
    },
  };
}
