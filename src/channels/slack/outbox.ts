import type { webApi } from '@slack/bolt';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { z } from 'zod';

/**
 * Every Web API call goes through here: posts and updates are paced per channel across all processes (Slack
 * allows about one message per second per channel), 429s wait for Retry-After (inside WebClient's retry policy),
 * and failures come back as values naming Slack's error code, so callers report them instead of swallowing them.
 */

export type SlackResult<T> = { ok: true; value: T } | { ok: false; error: string; retryable: boolean };

/** Slack error codes worth another try later; everything else (invalid_blocks, channel_not_found…) will not heal. */
const TRANSIENT = new Set(['ratelimited', 'service_unavailable', 'internal_error', 'fatal_error', 'request_timeout']);

export function classify(err: unknown): { error: string; retryable: boolean } {
  const e = err as { code?: unknown; data?: { error?: unknown }; statusCode?: unknown; message?: unknown };
  if (e?.code === 'slack_webapi_platform_error' && typeof e.data?.error === 'string') {
    return { error: e.data.error, retryable: TRANSIENT.has(e.data.error) };
  }
  if (e?.code === 'slack_webapi_rate_limited_error') return { error: 'ratelimited', retryable: true };
  if (e?.code === 'slack_webapi_http_error') {
    const status = typeof e.statusCode === 'number' ? e.statusCode : 0;
    return { error: `http_${status}`, retryable: status >= 500 || status === 429 };
  }
  if (e?.code === 'slack_webapi_request_error') return { error: 'request_error', retryable: true };
  return { error: typeof e?.message === 'string' ? e.message : 'unknown_error', retryable: false };
}

export interface OutboxOptions {
  web: webApi.WebClient;
  redis: Redis;
  keyPrefix: string;
  logger: Logger;
  /** Minimum gap between two messages to one channel. */
  paceMs?: number;
}

export interface Outbox {
  /** Calls `method`; `pace` names the channel the call writes to. The answer is parsed with `schema`. */
  call<S extends z.ZodType>(
    method: string,
    args: Record<string, unknown>,
    schema: S,
    pace?: string,
  ): Promise<SlackResult<z.output<S>>>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function createOutbox(o: OutboxOptions): Outbox {
  const paceMs = o.paceMs ?? 1_000;
  /** A per-channel slot in Redis: SET NX with a TTL of one interval; whoever holds it may send. */
  async function waitForSlot(channel: string): Promise<void> {
    const key = `${o.keyPrefix}:slack:pace:${channel}`;
    for (;;) {
      const got = await o.redis.set(key, '1', 'PX', paceMs, 'NX');
      if (got === 'OK') return;
      const ttl = await o.redis.pttl(key);
      await sleep(Math.max(10, ttl));
    }
  }
  return {
    async call(method, args, schema, pace) {
      if (pace && paceMs > 0) await waitForSlot(pace);
      try {
        const raw = await o.web.apiCall(method, args);
        const parsed = schema.safeParse(raw);
        if (!parsed.success) return { ok: false, error: `unexpected_response_from_${method}`, retryable: false };
        return { ok: true, value: parsed.data };
      } catch (err) {
        const c = classify(err);
        o.logger.warn({ method, channel: pace, error: c.error }, 'slack call failed');
        return { ok: false, ...c };
      }
    },
  };
}
