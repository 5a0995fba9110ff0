import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { Failpoints } from '../../../src/engine/failpoints.js';
import { NonRetryable, Retryable } from '../../../src/errors.js';
import type { BillingPort, IssuedRefund, RefundOrder } from './port.js';

/** A Stripe-shaped refund as the provider returns it (only the fields we read; the rest is ignored). */
const refundObject = z.object({
  id: z.string().min(1),
  object: z.literal('refund'),
  amount: z.int().nonnegative(),
  charge: z.string(),
  currency: z.string(),
  status: z.enum(['succeeded', 'pending', 'failed', 'canceled', 'requires_action']),
  created: z.int(),
});

const errorBody = z.object({
  error: z.object({ type: z.string(), code: z.string().optional(), message: z.string().optional() }),
});

export interface HttpBillingOptions {
  /** e.g. `https://api.stripe.com` or the stand-in's URL; `/v1/refunds` is appended. */
  baseUrl: string;
  apiKey: string;
  failpoints: Failpoints;
  /** 429s answered within one call, waiting as the provider's Retry-After says (default 2). */
  rateLimitRetries?: number;
  /** Never wait longer than this inside a call; a longer Retry-After becomes a step retry instead. */
  maxWaitMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/** Parses `Retry-After` as seconds or an HTTP date (RFC 9110); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1_000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The billing port over a Stripe-shaped HTTP API: `POST /v1/refunds`, form-encoded, `Idempotency-Key` header,
 * amounts in minor units. The `after-refund` failpoint sits between the provider's success and our return (and so
 * the journal): the crash test kills a worker there and proves the retry gets the same refund, not a second one.
 */
export function createHttpBilling(options: HttpBillingOptions): BillingPort {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/+$/, '');
  const retries = options.rateLimitRetries ?? 2;
  const maxWaitMs = options.maxWaitMs ?? 10_000;

  async function post(order: RefundOrder): Promise<Response> {
    const body = new URLSearchParams({
      charge: order.chargeId,
      amount: String(order.amountMinor),
      reason: 'requested_by_customer',
    });
    for (const [k, v] of Object.entries(order.metadata)) body.set(`metadata[${k}]`, v);
    try {
      return await doFetch(`${base}/v1/refunds`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          'content-type': 'application/x-www-form-urlencoded',
          'idempotency-key': order.idempotencyKey,
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (err) {
      // The request may or may not have reached the provider: the idempotency key makes the retry safe.
      throw new Retryable(`billing provider unreachable: ${(err as Error).message}`);
    }
  }

  return {
    async refund(order) {
      if (!Number.isInteger(order.amountMinor) || order.amountMinor <= 0) {
        throw new NonRetryable(`refund amount must be a positive number of minor units, got ${order.amountMinor}`);
      }
      for (let attempt = 0; ; attempt++) {
        const res = await post(order);
        const text = await res.text();
        const json = safeJson(text);
        if (res.ok) {
          const parsed = refundObject.safeParse(json);
          if (!parsed.success)
            throw new NonRetryable(`billing provider answered an unreadable refund: ${text.slice(0, 300)}`);
          const r = parsed.data;
          if (r.status === 'failed' || r.status === 'canceled') {
            throw new NonRetryable(`billing provider reports refund ${r.id} as ${r.status}`);
          }
          options.failpoints.hit('after-refund');
          const issued: IssuedRefund = {
            id: r.id,
            chargeId: r.charge,
            amountMinor: r.amount,
            currency: r.currency.toUpperCase(),
            status: r.status === 'succeeded' ? 'succeeded' : 'pending',
            createdAt: new Date(r.created * 1_000).toISOString(),
            replayed: res.headers.get('idempotent-replayed') === 'true',
          };
          return issued;
        }
        const err = errorBody.safeParse(json);
        const words = err.success
          ? `${err.data.error.code ?? err.data.error.type}: ${err.data.error.message ?? ''}`.trim()
          : `HTTP ${res.status} ${text.slice(0, 200)}`;
        if (res.status === 429) {
          const wait = retryAfterMs(res.headers.get('retry-after')) ?? 1_000;
          if (attempt < retries && wait <= maxWaitMs) {
            await sleep(wait);
            continue;
          }
          throw new Retryable(`billing provider rate limit: ${words}`, wait);
        }
        // 409: a request with this key is still being processed at the provider; asking again later is safe.
        if (res.status >= 500 || res.status === 409) {
          throw new Retryable(`billing provider failed (${res.status}): ${words}`);
        }
        // Every other 4xx (charge_already_refunded, amount_too_large, resource_missing, a bad key) is the
        // provider's final word about the money: retrying cannot change it.
        throw new NonRetryable(`billing provider refused the refund (${res.status}): ${words}`);
      }
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
