import type { Autonomy } from '../config.js';
import type { AgreementDoc } from '../store/agreements.js';
import type { CheckpointDoc, RunDoc } from '../store/models.js';
import { checkpointIdFor } from './ids.js';

/** Autonomy levels in increasing order of what the AI may do without a person. */
const AUTONOMY_ORDER: readonly Autonomy[] = ['manual', 'shadow', 'assisted', 'autonomous'];

/** The lowest of the given levels: each one is a ceiling. */
function minAutonomy(...levels: Autonomy[]): Autonomy {
  const index = Math.min(...levels.map((l) => AUTONOMY_ORDER.indexOf(l)));
  return AUTONOMY_ORDER[index] ?? 'manual';
}

/**
 * The level in force for a workflow: its own level from settings (default `autonomous`, so the deployment decides),
 * capped by the deployment-wide ceiling (AUTONOMY) and by any cap the run adds (e.g. unverified mail: `manual`).
 */
/** The two ceilings the engine settings carry (structural, so this module does not import the engine's deps). */
interface AutonomyCeilings {
  autonomyCeiling: Autonomy;
  workflowAutonomy: Readonly<Record<string, Autonomy>>;
}

export function autonomyInForce(settings: AutonomyCeilings, workflow: string, cap?: Autonomy): Autonomy {
  const own = settings.workflowAutonomy[workflow] ?? 'autonomous';
  return minAutonomy(own, settings.autonomyCeiling, cap ?? 'autonomous');
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
  };
}

/** Applies the rule at the level in force; below `assisted` nothing stands, whatever the rule says. */
export function takeVerdict<F>(
  level: Autonomy,
  spec: AutonomySpec<F>,
  now: Date,
  options: { personAsked?: boolean } = {},
): AutonomyVerdict {
  const ruling = spec.rule(spec.facts, level);
  const mayAct = level === 'assisted' || level === 'autonomous';
  return {
    level,
    auto: mayAct && ruling.auto && !options.personAsked,
    wouldAutoDecide: ruling.wouldAutoDecide,
    reason: options.personAsked ? `${level}: a person was asked before this verdict was taken` : ruling.reason,
    decidedAt: now,
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** The agreement record of a decided checkpoint, from the checkpoint document alone. */
export function agreementOfCheckpoint(cp: CheckpointDoc, now: Date): AgreementDoc | null {
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
  };
}
