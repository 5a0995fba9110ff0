import type { Redis } from 'ioredis';

/**
 * A fixed-window counter in Redis, shared by every `serve` process: `hit` counts one request for `key` and says
 * whether it is within `limit` per `windowMs`. Redis down: the caller's request fails like any other (503).
 */
export interface RateLimiter {
  hit(key: string): Promise<{ allowed: boolean; retryAfterSeconds: number }>;
}

export function createRateLimiter(
  redis: Redis,
  opts: { prefix: string; limit: number; windowMs: number },
): RateLimiter {
  return {
    async hit(key) {
      const window = Math.floor(Date.now() / opts.windowMs);
      const redisKey = `${opts.prefix}:${key}:${window}`;
      const [[, count] = [], , [, ttl] = []] =
        (await redis.multi().incr(redisKey).pexpire(redisKey, opts.windowMs, 'NX').pttl(redisKey).exec()) ?? [];
      const n = typeof count === 'number' ? count : Number(count);
      const ms = typeof ttl === 'number' && ttl > 0 ? ttl : opts.windowMs;
      return { allowed: n <= opts.limit, retryAfterSeconds: Math.ceil(ms / 1000) };
    },
  };
}
