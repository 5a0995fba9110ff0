import { auditOf } from '../store/audit.js';
import { agreementStats } from './agreement-stats.js';
import { mayDecide } from './checkpoints.js';
import { afterTheDecision, decide } from './decide.js';
import { clearDelegation, decidableBy, listDelegations, setDelegation } from './delegation.js';
import type { EngineDeps } from './deps.js';
import { sendEvent } from './events.js';
import { leaseAlongDecision, resumeAfterDecision } from './resume.js';
import { cancelRun, retryStep } from './run-actions.js';
import { startRun } from './start.js';
import type { Engine } from './types.js';
import { getRunDetail, getRunView, listRunViews } from './views.js';

/** The engine as inbound handlers see it: start, decide, signal, read. */
export function createEngine(deps: EngineDeps): Engine {
  return {
    startRun: (req) => startRun(deps, req),
    async decide(req) {
      const lease = deps.settings.resumeInProcess ? leaseAlongDecision(deps) : undefined;
      const cp = await decide(deps, req, lease);
      if (cp.status === 'pending') return cp;
      if (lease) resumeAfterDecision(deps, cp, lease.handoff());
      else await afterTheDecision(deps, cp, () => deps.queues.enqueuePass(cp.runId, `cp-${cp._id}`));
      return cp;
    },
    sendEvent: (event) => sendEvent(deps, event),
    getRun: (runId) => getRunView(deps, runId),
    listRuns: (filter) => listRunViews(deps, filter),
    getRunDetail: (runId) => getRunDetail(deps, runId),
    cancelRun: (req) => cancelRun(deps, req),
    retryStep: (req) => retryStep(deps, req),
    async getCheckpoint(id) {
      const cp = await deps.engineStore.getCheckpoint(id);
      return cp ? { ...cp, audit: await auditOf(deps.store, cp) } : null;
    },
    listCheckpoints: (filter) =>
      deps.engineStore.listCheckpoints({
        ...(filter.status ? { status: filter.status } : {}),
        ...(filter.decidedSince ? { decidedSince: filter.decidedSince } : {}),
        limit: Math.min(filter.limit ?? 100, 1_000),
      }),
    mayDecide: (cp, actor, aliases) => mayDecide(deps, cp, actor, aliases),
    decidableBy: (cps, actor, aliases) => decidableBy(deps, cps, actor, aliases),
    hasWorkflow: (name) => deps.workflows.has(name),
    setDelegation: (request) => setDelegation(deps, request),
    clearDelegation: (approver) => clearDelegation(deps, approver),
    listDelegations: (filter) => listDelegations(deps, filter),
    agreementStats: (filter) => agreementStats(deps.store, filter),
  };
}
