import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Connection } from 'mongoose';
import type { Mailer } from '../channels/mailer.js';
import type { ConsoleServices } from '../http/deps.js';
import { createFormLinkRegistry } from './form-link-registry.js';
import { createRateLimiter } from './rate-limit.js';
import { createConsoleSessions } from './sessions.js';

export function createConsoleServices(o: {
  connection: Connection;
  redis: Redis;
  mailer: Mailer;
  appSecret: string;
  /** `console.signInLimits` of the configuration file (with public form submissions per client and hour). */
  signInLimits: { perClient: number; perAddress: number; windowMinutes: number; publicSubmitsPerHour: number };
  /** Prefix of this deployment's Redis keys (COUNTERSIGN_QUEUE_PREFIX). */
  prefix: string;
  /** The queues whose depth the insights page shows. */
  queues: Record<string, Pick<Queue, 'getJobCounts'>>;
}): ConsoleServices {
  return {
    sessions: createConsoleSessions(o.connection, o.appSecret),
    mailer: o.mailer,
    signInLimits: {
      perClient: createRateLimiter(o.redis, {
        prefix: `${o.prefix}:sign-in:client`,
        limit: o.signInLimits.perClient,
        windowMs: o.signInLimits.windowMinutes * 60_000,
      }),
      perAddress: createRateLimiter(o.redis, {
        prefix: `${o.prefix}:sign-in:address`,
        limit: o.signInLimits.perAddress,
        windowMs: o.signInLimits.windowMinutes * 60_000,
      }),
    },
    formLinks: createFormLinkRegistry(o.connection),
    publicSubmits: createRateLimiter(o.redis, {
      prefix: `${o.prefix}:public-form`,
      limit: o.signInLimits.publicSubmitsPerHour,
      windowMs: 3_600_000,
    }),
    queueDepth: () =>
      Promise.all(
        Object.entries(o.queues).map(async ([queue, q]) => {
          const c = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
          return {
            queue,
            waiting: c.waiting ?? 0,
            active: c.active ?? 0,
            delayed: c.delayed ?? 0,
            failed: c.failed ?? 0,
          };
        }),
      ),
  };
}
