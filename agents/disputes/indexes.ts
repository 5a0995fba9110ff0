import type { IndexSpec } from '../../src/store/indexes.js';

/** The indexes of this module's own collections (rules: src/store/indexes.ts). */
export const DISPUTE_INDEXES: readonly IndexSpec[] = [
  {
    collection: 'sample_charges',
    keys: { customerEmail: 1, createdAt: 1 },
    why: "the dispute tools' charges of a customer, newest first (data.ts chargesFor)",
  },
  {
    collection: 'sample_usage',
    keys: { customerEmail: 1, at: 1 },
    why: "a customer's usage since a date, oldest first (data.ts usageSince)",
  },
  {
    collection: 'sample_disputes',
    keys: { customerEmail: 1, openedAt: 1 },
    why: "a customer's earlier disputes, newest first (data.ts disputeHistory)",
  },
  {
    collection: 'dispute_outcomes',
    keys: { recordedAt: 1 },
    why: "the digest section's outcomes recorded in the period (outcomes.ts countBetween)",
  },
];
