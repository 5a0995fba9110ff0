import { evalRunModel } from '../evals/store.js';
import type { Store } from '../store/models.js';

/** One stored eval run as the console lists it: the summary's headline numbers, never its cases or report. */
export interface EvalRunRow {
  id: string;
  workflow: string;
  model: string;
  promptVersion: string;
  datasetHash: string;
  startedAt: Date;
  agreement: number | null;
  compared: number;
  cases: number;
  errors: number;
  guardrails: { cases: number; failed: number };
  costUsd: number;
  passed: boolean | null;
}

interface ListedDoc {
  _id: string;
  workflow: string;
  model: string;
  promptVersion: string;
  datasetHash: string;
  startedAt: Date;
  agreement: number | null;
  passed: boolean | null;
  run?: {
    summary?: {
      cases?: number;
      errors?: number;
      agreement?: { compared?: number };
      guardrails?: { cases?: number; failed?: string[] };
      cost?: { totalUsd?: number };
    };
  };
}

/**
 * A workflow's newest eval runs (the `workflow, startedAt` index), projected to the summary: a 200-case run is
 * about 0.6 MB whole, its summary a few kilobytes.
 */
export async function listEvalRuns(
  store: Pick<Store, 'connection'>,
  workflow: string,
  limit = 10,
): Promise<EvalRunRow[]> {
  const docs = await evalRunModel(store)
    .find(
      { workflow },
      {
        workflow: 1,
        model: 1,
        promptVersion: 1,
        datasetHash: 1,
        startedAt: 1,
        agreement: 1,
        passed: 1,
        'run.summary.cases': 1,
        'run.summary.errors': 1,
        'run.summary.agreement': 1,
        'run.summary.guardrails': 1,
        'run.summary.cost': 1,
      },
    )
    .sort({ startedAt: -1 })
    .limit(limit)
    .lean<ListedDoc[]>();
  return docs.map((d) => {
    const s = d.run?.summary;
    return {
      id: d._id,
      workflow: d.workflow,
      model: d.model,
      promptVersion: d.promptVersion,
      datasetHash: d.datasetHash,
      startedAt: new Date(d.startedAt),
      agreement: d.agreement ?? null,
      compared: s?.agreement?.compared ?? 0,
      cases: s?.cases ?? 0,
      errors: s?.errors ?? 0,
      guardrails: { cases: s?.guardrails?.cases ?? 0, failed: s?.guardrails?.failed?.length ?? 0 },
      costUsd: s?.cost?.totalUsd ?? 0,
      passed: d.passed ?? null,
    };
  });
}
