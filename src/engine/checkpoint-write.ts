import type { CheckpointDoc, CheckpointTimers } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import type { JournalRecord } from './store-port.js';
import { withDueAt } from './timer-due.js';

/**
 * Every write to a checkpoint document first claims the document's next version (a unique insert into its run's
 * journal, carrying the `$set` it is about to apply), then writes. FerretDB rewrites whole documents on update, so two unclaimed writers
 * could each write back what the other changed; with claims, writers take turns, and the loser re-reads and
 * re-decides on the newer state. `build` returns the fields to set, or null to write nothing. Returns the
 * checkpoint as written (read, then the claimed fields over it: no read-back).
 */
export async function writeCheckpoint(
  deps: EngineDeps,
  checkpointId: string,
  build: (cp: CheckpointDoc) => Promise<Record<string, unknown> | null>,
  alongside?: WithTheClaim,
): Promise<CheckpointDoc | null> {
  let cp = await deps.engineStore.getCheckpoint(checkpointId);
  for (let attempt = 0; attempt < 100; attempt++) {
    if (!cp) return null;
    const built = await build(cp);
    if (!built) return null;
    const fields = built.timers ? { ...built, timers: withDueAt(built.timers as CheckpointTimers) } : built;
    const version = cp.version + 1;
    const set = { ...fields, version, updatedAt: deps.clock.now() };
    const extra = (await alongside?.records(cp, set)) ?? [];
    const claim: JournalRecord = {
      kind: 'claim',
      runId: cp.runId,
      key: versionKey(cp._id, version),
      at: deps.clock.now(),
      intent: set,
    };
    // Ordered: records that ride along are written only when the claim is ours.
    const [won, ...rest] = await deps.engineStore.append([claim, ...extra], { ordered: true });
    if (won) {
      alongside?.written(rest);
      await deps.engineStore.setCheckpoint(cp._id, set);
      return { ...cp, ...set } as CheckpointDoc;
    }
    await rollForward(deps, cp, version, attempt);
    cp = await deps.engineStore.getCheckpoint(checkpointId);
  }
  throw new Error(`checkpoint ${checkpointId} kept changing under concurrent writes; try again`);
}

const versionKey = (checkpointId: string, version: number) => `checkpoint:${checkpointId}:v${version}`;

/** Journal records written in the same request as a version's claim, and told whether they were. */
export interface WithTheClaim {
  records(cp: CheckpointDoc, set: Record<string, unknown>): Promise<JournalRecord[]>;
  written(results: boolean[]): void;
}

/**
 * The winner of a version writes right after its claim, so the loser usually finds the new version on its next
 * read; it waits a moment only while it does not. A claim whose writer died before its update leaves the checkpoint
 * a version behind; the next writer applies the claimed `$set` (applying it twice changes nothing) once the claim is
 * older than a grace period. Not sooner: a live winner's late write would then land over a newer version.
 */
async function rollForward(deps: EngineDeps, cp: CheckpointDoc, version: number, attempt: number) {
  const current = await deps.engineStore.getCheckpoint(cp._id);
  if (!current || current.version >= version) return;
  const stuck = await deps.engineStore.journalClaim(cp.runId, versionKey(cp._id, version));
  if (!stuck?.intent || deps.clock.now().getTime() - new Date(stuck.at).getTime() < 2_000) {
    await new Promise((r) => setTimeout(r, Math.min(2 ** attempt, 50)));
    return;
  }
  await deps.engineStore.setCheckpoint(cp._id, stuck.intent as Record<string, unknown>);
  deps.logger.warn({ checkpointId: cp._id, version }, 'rolled forward a checkpoint write whose writer died');
}
