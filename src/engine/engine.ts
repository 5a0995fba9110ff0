import { auditOf } from '../store/audit.js';
import type { CheckpointDoc } from '../store/models.js';
import { agreementStats } from './agreement-stats.js';
import { mayDecide } from './checkpoints.js';
import { decide } from './decide.js';
import { clearDelegation, listDelegations, setDelegation } from './delegation.js';
import type { EngineDeps } from './deps.js';
import { sendEvent } from './events.js';
import { startRun } from './start.js';
import type { Engine } from './types.js';
import { getRunView, listRunViews } from './views.js';

/** The engine as inbound handlers see it: start, decide, signal, read. */
export function createEngine(deps: EngineDeps): Engine {
  return {
    startRun: (req) => startRun(deps, req),
    decide: (req) => decide(deps, req),
    sendEvent: (event) => sendEvent(deps, event),
    getRun: (runId) => getRunView(deps, runId),
    listRuns: (filter) => listRunViews(deps, filter),
    async getCheckpoint(id) {
      const cp = await deps.store.checkpoints.findById(id).lean<CheckpointDoc>();
      return cp ? { ...cp, audit: await auditOf(deps.store, cp) } : null;
    },
    async listCheckpoints(filter) {
      const query: Record<string, unknown> = {};
      if (filter.status) query.status = filter.status;
      if (filter.decidedSince) query['decision.decidedAt'] = { $gte: filter.decidedSince };
      return deps.store.checkpoints
        .find(query)
        .sort({ createdAt: -1 })
        .limit(Math.min(filter.limit ?? 100, 1_000))
        .lean();
    },
    mayDecide: (cp, actor, aliases) => mayDecide(deps, cp, actor, aliases),
    hasWorkflow: (name) => deps.workflows.has(name),
    setDelegation: (request) => setDelegation(deps, request),
    clearDelegation: (approver) => clearDelegation(deps, approver),
    listDelegations: (filter) => listDelegations(deps, filter),
    agreementStats: (filter) => agreementStats(deps.store, filter),
  };
}
