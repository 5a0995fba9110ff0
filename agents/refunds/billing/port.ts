/**
 * The billing port: what the refund workflow needs from a payment provider, and nothing else. The workflow knows
 * this interface only; an adapter per provider (billing/http-adapter.ts for a Stripe-shaped API) implements it.
 */
export interface RefundOrder {
  /** The provider's charge to refund against. */
  chargeId: string;
  /** Integer minor units (cents): what payment APIs take, so no float ever reaches the provider. */
  amountMinor: number;
  currency: string;
  /**
   * The same key must give the same refund however often the call is repeated (a retry, a worker that died after
   * the provider answered): pass the step's `idempotencyKey`.
   */
  idempotencyKey: string;
  /** Shown in the provider's dashboard next to the refund (run id, requester). */
  metadata: Record<string, string>;
}

export interface IssuedRefund {
  id: string;
  chargeId: string;
  amountMinor: number;
  currency: string;
  status: 'succeeded' | 'pending';
  /** ISO 8601; strings because the result is journaled as JSON. */
  createdAt: string;
  /** The provider replayed an earlier answer for this idempotency key (nothing was refunded twice). */
  replayed: boolean;
}

export interface BillingPort {
  /**
   * Refunds `amountMinor` of a charge. Throws `Retryable` for what may pass later (429, 5xx, network) and
   * `NonRetryable` for what never will (already refunded, more than is left, unknown charge), each with the
   * provider's own words.
   */
  refund(order: RefundOrder): Promise<IssuedRefund>;
}
