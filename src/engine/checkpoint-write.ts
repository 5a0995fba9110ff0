import { claim } from '../store/claims.js';
import type { CheckpointDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';

/**
 * Every write to a checkpoint document first claims the document's next version (a unique insert carrying the
 * `$set` it is about to apply), then writes. FerretDB rewrites whole documents on update, so two unclaimed writers
 * could each write back what the other changed; with claims, writers take turns, and the loser re-reads and
 * re-decides on the newer state. `build` returns the fields to set, or null to write nothing.
 */
export async function writeCheckpoint(
  deps: EngineDeps,
  checkpointId: string,
  build: (cp: CheckpointDoc) => Promise<Record<string, unknown> | null>,
): Promise<CheckpointDoc | null> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const cp = await deps.store.checkpoints.findById(checkpointId).lean<CheckpointDoc>();
    if (!cp) return null;
    const fields = await build(cp);
    if (!fields) return null;
    const version = cp.version + 1;
    const set = { ...fields, version, updatedAt: deps.clock.now() };
    if (await claim(deps.store, `checkpoint:${cp._id}:v${version}`, set, deps.clock.now())) {
      await deps.store.checkpoints.updateOne({ _id: cp._id }, { $set: set });
      return (await deps.store.checkpoints.findById(cp._id).lean<CheckpointDoc>()) ?? null;
    }
    await rollForward(deps, cp, version);
  }
  throw new Error(`checkpoint ${checkpointId} kept changing under concurrent writes; try again`);
}

/**
 * A claim whose writer died before its update leaves the checkpoint a version behind; the next writer applies the
 * claimed `$set` (applying it twice changes nothing) once the claim is older than a grace period.
 */
async function rollForward(deps: EngineDeps, cp: CheckpointDoc, version: number) {
  const stuck = await deps.store.claims.findById(`checkpoint:${cp._id}:v${version}`).lean();
  if (!stuck?.intent || deps.clock.now().getTime() - new Date(stuck.at).getTime() < 2_000) {
    await new Promise((r) => setTimeout(r, 20));
    return;
  }
  const current = await deps.store.checkpoints.findById(cp._id).lean<CheckpointDoc>();
  if (current && current.version < version) {
    await deps.store.checkpoints.updateOne({ _id: cp._id }, { $set: stuck.intent as Record<string, unknown> });
    deps.logger.warn({ checkpointId: cp._id, version }, 'rolled forward a checkpoint write whose writer died');
  }
}
