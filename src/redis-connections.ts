import { Redis, type RedisOptions } from 'ioredis';

/**
 * What a BullMQ Worker's connection must have: its blocking commands wait out a disconnection instead of failing
 * (BullMQ refuses a Worker connection with a retry limit). Apply it to a duplicate of the producer connection:
 * `connection.duplicate(workerRedisOptions)`.
 */
export const workerRedisOptions = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
} as const satisfies Partial<RedisOptions>;

/** Producer commands fail within seconds while Redis is away, so a request answers 503 instead of hanging. */
const producerOptions = {
  enableOfflineQueue: false,
  maxRetriesPerRequest: 2,
  connectTimeout: 5_000,
  enableReadyCheck: true,
} as const satisfies Partial<RedisOptions>;

/**
 * The connection for Queues and everything the HTTP side uses. Commands sent while it is disconnected fail at
 * once ("Stream isn't writeable"), an outage `infrastructureFault` recognises, rather than waiting in ioredis'
 * offline queue for as long as the outage lasts (BullMQ's "failing fast when Redis is down" pattern). Its
 * duplicates are worker connections: the integrations that start their own BullMQ Workers make them with
 * `duplicate()`, and a Worker must wait out an outage, not fail.
 */
class ProducerRedis extends Redis {
  override duplicate(override?: Partial<RedisOptions>): Redis {
    return new Redis({ ...this.options, ...workerRedisOptions, ...override });
  }
}

export function producerRedis(url: string): Redis {
  return new ProducerRedis(url, producerOptions);
}

/**
 * Resolves once `redis` is ready, or after `timeoutMs` without it: commands sent before the first `ready` would
 * fail on a connection without an offline queue, but a process must still start while Redis is away (its HTTP side
 * answers 503 until it returns).
 */
export function untilReady(redis: Redis, timeoutMs = 5_000): Promise<boolean> {
  if (redis.status === 'ready') return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (ready: boolean) => {
      clearTimeout(timer);
      redis.off('ready', onReady);
      resolve(ready);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(false), timeoutMs);
    redis.once('ready', onReady);
  });
}
