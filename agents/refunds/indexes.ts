import type { IndexSpec } from '../../src/store/indexes.js';

/** The indexes of this module's own collections (rules: src/store/indexes.ts). */
export const REFUND_INDEXES: readonly IndexSpec[] = [
  {
    collection: 'refund_sample_orders',
    keys: { customerEmail: 1, orderedAt: 1 },
    why: "the refund tools' orders of a customer, newest first (data.ts ordersFor)",
  },
  {
    collection: 'refund_sample_adjustments',
    keys: { customerEmail: 1, at: 1 },
    why: "a customer's earlier refunds and credits, newest first (data.ts adjustmentsFor)",
  },
  {
    collection: 'refund_credits',
    keys: { customerEmail: 1, grantedAt: 1 },
    why: 'credits granted to a customer, newest first (credits.ts forCustomer)',
  },
  {
    collection: 'refund_outcomes',
    keys: { recordedAt: 1 },
    why: "the digest section's refund totals for the period (outcomes.ts totalsBetween)",
  },
];
