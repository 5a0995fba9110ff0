import { type Model, Schema } from 'mongoose';
import type { Store } from '../store/models.js';
import type { EvalRun } from './types.js';

/**
 * Eval runs as stored: the whole result (cases included, so the console can show the disagreements) and the HTML
 * report. A 200-case run of card disputes is about 0.6 MB, well under MongoDB's 16 MB document limit; the report
 * is kept beside it rather than rendered again, so it shows what was seen when the run was made.
 */
export interface EvalRunDoc {
  _id: string;
  workflow: string;
  model: string;
  promptVersion: string;
  datasetHash: string;
  /** Agreement rate, lifted out of `run` for lists and the autonomy boundary. */
  agreement: number | null;
  passed: boolean | null;
  startedAt: Date;
  run: EvalRun;
  reportHtml: string | null;
}

export function evalRunModel(store: Pick<Store, 'connection'>): Model<EvalRunDoc> {
  const conn = store.connection;
  return (
    (conn.models.EvalRun as Model<EvalRunDoc> | undefined) ??
    conn.model<EvalRunDoc>(
      'EvalRun',
      new Schema<EvalRunDoc>(
        {
          _id: String,
          workflow: String,
          model: String,
          promptVersion: String,
          datasetHash: String,
          agreement: { type: Number, default: null },
          passed: { type: Boolean, default: null },
          startedAt: Date,
          run: Schema.Types.Mixed,
          reportHtml: { type: String, default: null },
        },
        { collection: 'eval_runs', versionKey: false, minimize: false, strict: true },
      ),
    )
  );
}

/** Written once per eval run (a unique insert). */
export async function saveEvalRun(
  store: Pick<Store, 'connection'>,
  run: EvalRun,
  reportHtml: string | null,
): Promise<void> {
  await evalRunModel(store).create({
    _id: run.id,
    workflow: run.workflow,
    model: run.model,
    promptVersion: run.promptVersion,
    datasetHash: run.dataset.hash,
    agreement: run.summary.agreement.rate,
    passed: run.gate ? run.gate.passed : null,
    startedAt: new Date(run.startedAt),
    run,
    reportHtml,
  });
}

export async function evalRunById(store: Pick<Store, 'connection'>, id: string): Promise<EvalRunDoc | null> {
  return evalRunModel(store).findById(id).lean<EvalRunDoc>();
}

/** The newest eval runs of a workflow, newest first, without their cases and reports (lists, the boundary). */
export async function recentEvalRuns(
  store: Pick<Store, 'connection'>,
  workflow: string,
  limit = 20,
): Promise<Omit<EvalRunDoc, 'run' | 'reportHtml'>[]> {
  return evalRunModel(store)
    .find({ workflow }, { run: 0, reportHtml: 0 })
    .sort({ startedAt: -1 })
    .limit(limit)
    .lean<Omit<EvalRunDoc, 'run' | 'reportHtml'>[]>();
}

/**
 * The newest eval run of a workflow, whole: `--baseline stored` asks for one that passed its gate on the same cases
 * (a regressed run must not become the next baseline), the autonomy boundary for one that passed.
 */
export async function latestEvalRun(
  store: Pick<Store, 'connection'>,
  workflow: string,
  filter: { passed?: true; datasetHash?: string } = {},
): Promise<EvalRun | null> {
  const doc = await evalRunModel(store)
    .findOne(
      {
        workflow,
        ...(filter.passed ? { passed: { $ne: false } } : {}),
        ...(filter.datasetHash ? { datasetHash: filter.datasetHash } : {}),
      },
      { reportHtml: 0 },
    )
    .sort({ startedAt: -1 })
    .lean<EvalRunDoc>();
  return doc?.run ?? null;
}
