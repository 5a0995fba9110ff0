import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpBilling, retryAfterMs } from '../agents/refunds/billing/http-adapter.js';
import type { RefundOrder } from '../agents/refunds/billing/port.js';
import { type BillingStandin, startBillingStandin } from '../agents/refunds/billing/standin.js';
import { fromMinorUnits, toMinorUnits } from '../agents/refunds/money.js';
import { noFailpoints } from '../src/engine/failpoints.js';
import { NonRetryable, Retryable } from '../src/errors.js';

let standin: BillingStandin;
beforeAll(async () => {
  standin = await startBillingStandin({
    charges: [
      { id: 'ch_a', amountMinor: 6_400, currency: 'EUR' },
      { id: 'ch_b', amountMinor: 38_000, currency: 'GBP' },
      { id: 'ch_c', amountMinor: 4_500, currency: 'EUR' },
      { id: 'ch_d', amountMinor: 1_000, currency: 'USD' },
      { id: 'ch_e', amountMinor: 2_000, currency: 'USD' },
      { id: 'ch_f', amountMinor: 2_000, currency: 'USD' },
    ],
  });
});
afterAll(async () => {
  await standin?.close();
});

const billing = () =>
  createHttpBilling({ baseUrl: standin.baseUrl, apiKey: standin.apiKey, failpoints: noFailpoints, maxWaitMs: 2_000 });
const order = (over: Partial<RefundOrder>): RefundOrder => ({
  chargeId: 'ch_a',
  amountMinor: 100,
  currency: 'EUR',
  idempotencyKey: `key-${Math.random().toString(36).slice(2)}`,
  metadata: { countersign_run: 'run_test' },
  ...over,
});
const refundsOf = (charge: string) => standin.refunds().filter((r) => r.charge === charge);

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

describe('billing stand-in and HTTP adapter', () => {
  it('refunds in minor units and gives the same refund for the same idempotency key', async () => {
    const first = await billing().refund(order({ amountMinor: 6_400, idempotencyKey: 'run_1:issue-refund' }));
    expect(first).toMatchObject({ chargeId: 'ch_a', amountMinor: 6_400, currency: 'EUR', status: 'succeeded' });
    expect(first.replayed).toBe(false);
    expect(first.id).toMatch(/^re_/);
    const again = await billing().refund(order({ amountMinor: 6_400, idempotencyKey: 'run_1:issue-refund' }));
    expect(again).toMatchObject({ id: first.id, replayed: true });
    expect(refundsOf('ch_a')).toHaveLength(1);
    expect(refundsOf('ch_a')[0]?.metadata).toEqual({ countersign_run: 'run_test' });
  });

  it('refuses a second refund of a fully refunded charge: charge_already_refunded, not retryable', async () => {
    const err = await rejection(billing().refund(order({ amountMinor: 100, idempotencyKey: 'other-key' })));
    expect(err).toBeInstanceOf(NonRetryable);
    expect(err.message).toContain('charge_already_refunded: Charge ch_a has already been refunded.');
  });

  it('refuses more than is left on the charge: amount_too_large', async () => {
    await billing().refund(order({ chargeId: 'ch_b', amountMinor: 19_000 }));
    const err = await rejection(billing().refund(order({ chargeId: 'ch_b', amountMinor: 19_001 })));
    expect(err).toBeInstanceOf(NonRetryable);
    expect(err.message).toContain('amount_too_large');
    expect(err.message).toContain('(19000)');
    expect(refundsOf('ch_b').map((r) => r.amount)).toEqual([19_000]);
  });

  it('replays a saved error for the same key, and refuses the key with other parameters', async () => {
    const key = 'replayed-error-key';
    await rejection(billing().refund(order({ chargeId: 'ch_c', amountMinor: 9_999, idempotencyKey: key })));
    const replay = await rejection(
      billing().refund(order({ chargeId: 'ch_c', amountMinor: 9_999, idempotencyKey: key })),
    );
    expect(replay.message).toContain('amount_too_large');
    const reused = await rejection(
      billing().refund(order({ chargeId: 'ch_c', amountMinor: 100, idempotencyKey: key })),
    );
    expect(reused).toBeInstanceOf(NonRetryable);
    expect(reused.message).toContain('idempotency_error');
    expect(refundsOf('ch_c')).toHaveLength(0);
  });

  it('waits as Retry-After says on 429 and then succeeds within one call', async () => {
    standin.failNext({ kind: 'rate_limit', retryAfterSeconds: 1 });
    const before = standin.requestCount();
    const started = Date.now();
    const refund = await billing().refund(order({ chargeId: 'ch_d', amountMinor: 1_000 }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(standin.requestCount() - before).toBe(2);
    expect(refund.amountMinor).toBe(1_000);
  });

  it('turns a long Retry-After or repeated 429s into a retryable failure with the wait', async () => {
    standin.failNext({ kind: 'rate_limit', retryAfterSeconds: 30 });
    const err = await rejection(billing().refund(order({ chargeId: 'ch_e', amountMinor: 500 })));
    expect(err).toBeInstanceOf(Retryable);
    expect((err as Retryable).retryAfterMs).toBe(30_000);
    expect(err.message).toContain('rate_limit');
    expect(refundsOf('ch_e')).toHaveLength(0);
  });

  it('treats 5xx as retryable, and the retry with the same key refunds once', async () => {
    standin.failNext({ kind: 'server_error', status: 503 });
    const key = 'after-503';
    const err = await rejection(billing().refund(order({ chargeId: 'ch_f', amountMinor: 2_000, idempotencyKey: key })));
    expect(err).toBeInstanceOf(Retryable);
    expect(err.message).toContain('503');
    const refund = await billing().refund(order({ chargeId: 'ch_f', amountMinor: 2_000, idempotencyKey: key }));
    const replay = await billing().refund(order({ chargeId: 'ch_f', amountMinor: 2_000, idempotencyKey: key }));
    expect(replay.id).toBe(refund.id);
    expect(refundsOf('ch_f')).toHaveLength(1);
  });

  it('refuses an unknown charge and a wrong key, and cannot be reached when down', async () => {
    const missing = await rejection(billing().refund(order({ chargeId: 'ch_nope' })));
    expect(missing).toBeInstanceOf(NonRetryable);
    expect(missing.message).toContain("resource_missing: No such charge: 'ch_nope'");
    const wrongKey = createHttpBilling({ baseUrl: standin.baseUrl, apiKey: 'sk_test_wrong', failpoints: noFailpoints });
    const denied = await rejection(wrongKey.refund(order({})));
    expect(denied).toBeInstanceOf(NonRetryable);
    expect(denied.message).toContain('(401)');
    const down = createHttpBilling({ baseUrl: 'http://127.0.0.1:9', apiKey: 'sk_test_x', failpoints: noFailpoints });
    expect(await rejection(down.refund(order({})))).toBeInstanceOf(Retryable);
  });

  it('never sends a fraction of a minor unit', async () => {
    expect(await rejection(billing().refund(order({ amountMinor: 10.5 })))).toBeInstanceOf(NonRetryable);
    expect(toMinorUnits(49.9, 'EUR')).toBe(4_990);
    expect(toMinorUnits(1_450, 'JPY')).toBe(1_450);
    expect(toMinorUnits(1.234, 'KWD')).toBe(1_234);
    expect(() => toMinorUnits(0.5, 'JPY')).toThrow('more decimals');
    expect(fromMinorUnits(4_990, 'EUR')).toBe(49.9);
    expect(retryAfterMs('2')).toBe(2_000);
    expect(retryAfterMs(new Date(Date.now() + 5_000).toUTCString())).toBeGreaterThan(3_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });
});
