import { decide, mayDecide } from './checkpoints.js';
import type { EngineDeps } from './deps.js';
import { startRun } from './start.js';
import type { Engine } from './types.js';
import { getRunView, listRunViews } from './views.js';

/** The engine as inbound handlers see it: start, decide, read. */
export function createEngine(deps: EngineDeps): Engine {
  return {
    startRun: (req) => startRun(deps, req),
    decide: (req) => decide(deps, req),
    getRun: (runId) => getRunView(deps, runId),
    listRuns: (filter) => listRunViews(deps, filter),
    getCheckpoint: (id) => deps.store.checkpoints.findById(id).lean(),
    mayDecide,
    hasWorkflow: (name) => deps.workflows.has(name),
  };
}
