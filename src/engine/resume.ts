import { randomUUID } from 'node:crypto';
import type { CheckpointDoc } from '../store/models.js';
import type { WithTheClaim } from './checkpoint-write.js';
import type { EngineDeps } from './deps.js';
import { type Handoff, runPass } from './pass.js';

/**
 * The run's lease, taken in the same request as a final decision's claim: the deciding process reads the run's
 * journal once, and when no pass holds the run, the claim carries the next lease generation along. The decision then
 * goes straight on into the run's next pass, in this process, with the journal it read: no queue hop, no second
 * read, no second insert for the lease.
 */
export function leaseAlongDecision(deps: EngineDeps): WithTheClaim & { handoff(): Handoff | null } {
  let offered: Handoff | null = null;
  let taken = false;
  return {
    async records(cp, set) {
      offered = null;
      if (set.status !== 'approved' && set.status !== 'rejected') return [];
      const journal = await deps.engineStore.loadJournal(cp.runId);
      const last = journal.lastPass;
      const now = deps.clock.now();
      if (!journal.start || (last && !last.released && last.until > now)) return [];
      offered = { journal, gen: (last?.gen ?? 0) + 1, owner: randomUUID() };
      const until = new Date(now.getTime() + deps.settings.leaseMs);
      return [{ kind: 'lease', runId: cp.runId, gen: offered.gen, owner: offered.owner, until }];
    },
    written(results) {
      taken = offered !== null && results[0] === true;
    },
    handoff: () => (taken ? offered : null),
  };
}

/**
 * Continues a run right after its checkpoint was decided, in the deciding process, from the checkpoint just
 * written (and with the lease, when the decision took it). When the run is busy or this fails, the pass goes to the
 * queue as before. Tracked in `deps.inflight` so shutdown waits for it.
 */
export function resumeAfterDecision(deps: EngineDeps, cp: CheckpointDoc, handoff: Handoff | null = null): void {
  const reason = `cp-${cp._id}`;
  const work = runPass(deps, cp.runId, { checkpoints: [cp], onBusy: 'report', reason, ...(handoff ? { handoff } : {}) })
    .then(async (result) => {
      if (result === 'busy') await deps.queues.enqueuePass(cp.runId, reason);
    })
    .catch(async (err: unknown) => {
      deps.logger.warn({ runId: cp.runId, err: (err as Error).message }, 'resuming in process failed; queued');
      await deps.queues.enqueuePass(cp.runId, reason).catch(() => {});
    })
    .finally(() => deps.inflight.delete(work));
  deps.inflight.add(work);
}
