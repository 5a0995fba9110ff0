import type { Store } from '../store/models.js';

/** The MongoDB round trip `/healthz` reports; throws when the store is unreachable. */
export async function pingStore(store: Pick<Store, 'connection'>): Promise<void> {
  const db = store.connection.db;
  if (!db) throw new Error('not connected');
  await db.command({ ping: 1 });
}

/** Checkpoints waiting for a person right now (the `countersign_pending_checkpoints` gauge). */
export function countPendingCheckpoints(store: Pick<Store, 'checkpoints'>): Promise<number> {
  return store.checkpoints.countDocuments({ status: 'pending' }).exec();
}
