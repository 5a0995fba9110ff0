/**
 * True for MongoDB's duplicate-key error (code 11000): a unique index refused a second insert, which is how
 * claims, idempotency keys and at-most-once effects find out they lost a race. Outside src/store/ so inbound
 * adapters can tell "already done" from a failure without depending on the store's models.
 */
export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}
