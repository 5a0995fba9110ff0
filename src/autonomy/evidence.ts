import { latestEvalRun } from '../evals/store.js';
import { type AgreementDoc, agreementModel } from '../store/agreements.js';
import type { Store } from '../store/models.js';
import type { Observation } from './recommend.js';
import { type SliceBands, sliceOf } from './slices.js';

/** Reads at most this many production decisions per workflow, newest first (the boundary needs hundreds). */
const PRODUCTION_LIMIT = 20_000;

/** Where a workflow's evidence came from, for people reading the boundary. */
export interface EvidenceSummary {
  production: number;
  eval: { runId: string; model: string; promptVersion: string; finishedAt: string; cases: number } | null;
}

/**
 * Production evidence: decisions a person made on a clear proposal (agreement recorded as kept or changed). Policy
 * and timeout decisions compare nothing. Each is sliced with today's bands from the confidence, amount and proposal
 * the record carries, so changing the bands re-slices history.
 */
async function productionObservations(
  store: Pick<Store, 'connection'>,
  workflow: string,
  bands: SliceBands,
): Promise<Observation[]> {
  const docs = await agreementModel(store)
    .find({ workflow, decidedBy: 'person', agreed: { $ne: null } })
    .sort({ decidedAt: -1 })
    .limit(PRODUCTION_LIMIT)
    .lean<AgreementDoc[]>();
  return docs
    .filter((d) => typeof d.agreed === 'boolean')
    .map((d) => ({
      slice: sliceOf({ outcome: d.proposed, confidence: d.confidence ?? null, amount: d.amount ?? null }, bands),
      agreed: d.agreed === true,
      source: 'production' as const,
      at: new Date(d.decidedAt),
    }));
}

/** Eval evidence: the compared cases of the workflow's newest eval run that passed its gate. */
async function evalObservations(
  store: Pick<Store, 'connection'>,
  workflow: string,
  bands: SliceBands,
): Promise<{ observations: Observation[]; summary: EvidenceSummary['eval'] }> {
  // A run that failed its gate (a degraded prompt, a weaker model) is no evidence for the agents in production.
  const run = await latestEvalRun(store, workflow, { passed: true });
  if (!run) return { observations: [], summary: null };
  const at = new Date(run.finishedAt);
  const observations = run.cases.flatMap((c): Observation[] => {
    // Exported cases are decisions production evidence already counts; deferrals belong to no slice.
    if (c.source === 'export' || !c.capture || c.capture.proposed === null || typeof c.agreed !== 'boolean') return [];
    const { proposed, confidence, amount } = c.capture;
    // Sliced with today's bands, like production decisions, so both kinds of evidence meet in the same slices.
    return [{ slice: sliceOf({ outcome: proposed, confidence, amount }, bands), agreed: c.agreed, source: 'eval', at }];
  });
  return {
    observations,
    summary: {
      runId: run.id,
      model: run.model,
      promptVersion: run.promptVersion,
      finishedAt: run.finishedAt,
      cases: observations.length,
    },
  };
}

/** Both kinds of evidence for one workflow. */
export async function gatherEvidence(
  store: Pick<Store, 'connection'>,
  workflow: string,
  bands: SliceBands,
): Promise<{ observations: Observation[]; summary: EvidenceSummary }> {
  const [production, evals] = await Promise.all([
    productionObservations(store, workflow, bands),
    evalObservations(store, workflow, bands),
  ]);
  return {
    observations: [...production, ...evals.observations],
    summary: { production: production.length, eval: evals.summary },
  };
}
