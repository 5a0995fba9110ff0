import {
  type ActiveGrant,
  type BoundaryDecision,
  boundaryLevel,
  type SliceRule,
  sliceOverride,
} from '../autonomy/boundary.js';
import { lowestLevel } from '../autonomy/levels.js';
import { type SliceBands, sliceKey, sliceOf } from '../autonomy/slices.js';
import type { Autonomy } from '../config.js';
import type { CaseSlice } from '../evals/types.js';
import type { AgreementDoc } from '../store/agreements.js';
import type { CheckpointDoc, RunDoc, StepDoc } from '../store/models.js';
import { checkpointIdFor } from './ids.js';

/** What the engine settings carry about autonomy (structural, so this module does not import the engine's deps). */
interface AutonomySettings {
  autonomyCeiling: Autonomy;
  workflowAutonomy: Readonly<Record<string, Autonomy>>;
  sliceAutonomy: Readonly<Record<string, readonly SliceRule[]>>;
  sliceBands: SliceBands;
}

/**
 * The level in force for a workflow: its own level from settings (default `autonomous`, so the deployment decides),
 * capped by the deployment-wide ceiling (AUTONOMY) and by any cap the run adds (e.g. unverified mail: `manual`).
 */
export function autonomyInForce(settings: AutonomySettings, workflow: string, cap?: Autonomy): Autonomy {
  const own = settings.workflowAutonomy[workflow] ?? 'autonomous';
  return lowestLevel(own, settings.autonomyCeiling, cap ?? 'autonomous');
}

/** The ceiling no slice goes above: AUTONOMY and the run's cap. */
export function ceilingOf(settings: AutonomySettings, cap?: Autonomy): Autonomy {
  return lowestLevel(settings.autonomyCeiling, cap ?? 'autonomous');
}

/** The slice of the case a verdict is about: only a verdict that names its proposal (`agreement`) has one. */
export function sliceOfSpec(settings: AutonomySettings, spec: AutonomySpec<unknown>): CaseSlice | null {
  const a = spec.agreement;
  if (!a) return null;
  return sliceOf(
    { outcome: a.proposed, confidence: a.confidence ?? null, amount: a.amount ?? null },
    settings.sliceBands,
  );
}

/** What the boundary decided for one case, journaled with the verdict. */
export interface VerdictBoundary extends BoundaryDecision {
  slice: CaseSlice;
  /** `accept/≥0.9/≤50` */
  key: string;
}

/**
 * The level of one case: the workflow's level, or the level of the most specific slice override (the file's
 * `workflows.<name>.slices` and the grants in force), in either direction, never above AUTONOMY or the run's cap.
 * `grants` is null when they were not read (the ceiling is `manual`, so nothing could raise the case).
 */
export function boundaryForCase(
  settings: AutonomySettings,
  workflow: string,
  slice: CaseSlice,
  grants: readonly ActiveGrant[] | null,
  cap?: Autonomy,
): VerdictBoundary {
  const own = settings.workflowAutonomy[workflow] ?? 'autonomous';
  const rules = settings.sliceAutonomy[workflow] ?? [];
  const decision = boundaryLevel(
    own,
    ceilingOf(settings, cap),
    sliceOverride(slice, rules, grants ?? []),
    grants !== null,
  );
  return { ...decision, slice, key: sliceKey(slice) };
}

/** What a workflow's rule says about one proposal at the level in force. A pure function of its arguments. */
export interface AutonomyRuling {
  /** The proposal may stand without a person (acted on only at `assisted` or `autonomous`). */
  auto: boolean;
  /** What the rule would allow at `assisted` or above; in `shadow` it is recorded, never acted on. */
  wouldAutoDecide: boolean;
  /** One sentence for people: why it stands or why it waits. */
  reason: string;
}

export type AutonomyRule<F> = (facts: F, level: Autonomy) => AutonomyRuling;

/** The journaled verdict of `ctx.autonomy`: replays get this, whatever the configuration says later. */
export interface AutonomyVerdict extends AutonomyRuling {
  /** The level in force when the verdict was first taken. */
  level: Autonomy;
  decidedAt: Date;
  /**
   * The case's slice and where its level came from (the workflow, the file's slices, a grant, or the ceiling).
   * Absent on verdicts without `agreement` and on verdicts journaled before the autonomy boundary existed.
   */
  boundary?: VerdictBoundary;
}

export interface AutonomySpec<F> {
  /** What the rule looks at (amount, confidence, risk score…); journaled with the verdict. */
  facts: F;
  /** The workflow's policy: limits per level. The engine never lets it act below `assisted`. */
  rule: AutonomyRule<F>;
  /** A further ceiling for this run only, e.g. `manual` for mail whose sender could not be verified. */
  cap?: Autonomy;
  /**
   * The checkpoint this verdict may skip (its step id). A verdict taken when that checkpoint is already in the
   * journal (a run started before verdicts were journaled) never lets the proposal stand: a person was asked.
   * Also names the decision point in the agreement record. Default: the verdict's own id.
   */
  checkpoint?: string;
  /**
   * When the proposal stands, the engine records it in `agreements` (decidedBy `policy`) under the checkpoint it
   * replaces, so agreement and "resolved without a person" count it like any other decision.
   */
  agreement?: {
    /** The field compared, as in CheckpointSpec.agreement (null or absent: the whole proposal). */
    field?: string;
    agents?: string[];
    /** The value that stands. */
    proposed: unknown;
    /** The proposal's confidence (0..1): with `proposed` and `amount` it names the case's slice. */
    confidence?: number | null;
    /** The case's amount in major units, when it has one. */
    amount?: number | null;
  };
}

/** Applies the rule at the level in force; below `assisted` nothing stands, whatever the rule says. */
export function takeVerdict<F>(
  level: Autonomy,
  spec: AutonomySpec<F>,
  now: Date,
  options: { personAsked?: boolean; boundary?: VerdictBoundary } = {},
): AutonomyVerdict {
  const ruling = spec.rule(spec.facts, level);
  const mayAct = level === 'assisted' || level === 'autonomous';
  return {
    level,
    auto: mayAct && ruling.auto && !options.personAsked,
    wouldAutoDecide: ruling.wouldAutoDecide,
    reason: options.personAsked ? `${level}: a person was asked before this verdict was taken` : ruling.reason,
    decidedAt: now,
    ...(options.boundary ? { boundary: options.boundary } : {}),
  };
}

const finiteOrNull = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);

/**
 * The versions of the named agents, from the run's journal: each agent's step records the version that produced its
 * result. Agents without a recorded version (steps journaled before versions existed) are left out.
 */
function agentVersionsOf(agents: readonly string[], steps: Iterable<StepDoc>): Record<string, string> {
  const wanted = new Set(agents);
  const out: Record<string, string> = {};
  for (const s of steps) {
    if (s.kind === 'agent' && wanted.has(s.name) && typeof s.agentVersion === 'string') out[s.name] = s.agentVersion;
  }
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The agreement record of a decided checkpoint, from the checkpoint document and the run's journal (versions). */
export function agreementOfCheckpoint(
  cp: CheckpointDoc,
  now: Date,
  steps: Iterable<StepDoc> = [],
): AgreementDoc | null {
  const d = cp.decision;
  if (!d) return null;
  const spec = cp.agreement ?? { field: null, agents: [] };
  const field = spec.field ?? null;
  const original = cp.originalValues ?? cp.values;
  const after = { ...cp.values, ...d.edits };
  const prefilled = field === null ? original : original[field];
  const proposed = spec.proposed === undefined ? prefilled : spec.proposed;
  const final = d.decision === 'reject' ? null : field === null ? after : after[field];
  const agreed = proposed === null ? null : d.decision === 'approve' && same(final, proposed);
  return {
    _id: cp._id,
    v: 1,
    runId: cp.runId,
    workflow: cp.workflow,
    checkpoint: cp.name,
    agents: spec.agents,
    field,
    proposed: proposed ?? null,
    final,
    decision: d.decision,
    editedFields: d.diff.map((x) => x.field),
    agreed,
    decidedBy: d.channel === 'timeout' ? 'timeout' : d.channel === 'policy' ? 'policy' : 'person',
    actor: d.actor,
    channel: d.channel,
    decidedAt: new Date(d.decidedAt),
    recordedAt: now,
    confidence: finiteOrNull(spec.confidence),
    amount: finiteOrNull(spec.amount),
    versions: agentVersionsOf(spec.agents, steps),
  };
}

/** A journaled verdict as stored (dates may come back as strings from JSON-shaped stores). */
export function verdictOf(stored: unknown): AutonomyVerdict {
  const v = stored as AutonomyVerdict;
  return {
    level: v.level,
    auto: v.auto,
    wouldAutoDecide: v.wouldAutoDecide,
    reason: v.reason,
    decidedAt: new Date(v.decidedAt),
    // Verdicts journaled before the autonomy boundary have none.
    ...(v.boundary ? { boundary: v.boundary } : {}),
  };
}

/**
 * The agreement record of a proposal the policy let stand. Its id is the id the checkpoint it replaces would have
 * had, so each decision point of a run has at most one record however it was settled. Nobody compared it with the
 * proposal, so `agreed` is null: policy decisions count as "resolved without a person", not as agreement.
 */
export function policyAgreement(
  run: Pick<RunDoc, '_id' | 'workflow'>,
  checkpoint: string,
  spec: NonNullable<AutonomySpec<unknown>['agreement']>,
  verdict: AutonomyVerdict,
  now: Date,
  steps: Iterable<StepDoc> = [],
): AgreementDoc {
  return {
    _id: checkpointIdFor(run._id, checkpoint),
    v: 1,
    runId: run._id,
    workflow: run.workflow,
    checkpoint,
    agents: spec.agents ?? [],
    field: spec.field ?? null,
    proposed: spec.proposed ?? null,
    final: spec.proposed ?? null,
    decision: 'approve',
    editedFields: [],
    agreed: null,
    decidedBy: 'policy',
    actor: 'policy',
    channel: 'policy',
    decidedAt: verdict.decidedAt,
    recordedAt: now,
    confidence: finiteOrNull(spec.confidence),
    amount: finiteOrNull(spec.amount),
    versions: agentVersionsOf(spec.agents ?? [], steps),
  };
}
