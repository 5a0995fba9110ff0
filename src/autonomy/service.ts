import { type Autonomy, type Settings, workflowSliceRules } from '../settings.js';
import type { Store } from '../store/models.js';
import type { ActiveGrant } from './boundary.js';
import { type EvidenceSummary, gatherEvidence } from './evidence.js';
import { activeGrantDocs, type GrantDoc, type GrantEvidence, grantsOf, insertGrant, revokeGrant } from './grants.js';
import { lowestLevel } from './levels.js';
import { type Observation, type Recommendation, recommend } from './recommend.js';
import {
  amountBandNames,
  confidenceBandNames,
  matchesSlice,
  patternOf,
  type SlicePattern,
  sliceKey,
} from './slices.js';
import { wilson } from './wilson.js';

/**
 * The autonomy boundary as people see and move it: the CLI (`countersign autonomy`) and the API
 * (`/api/autonomy`) both call these functions, so they print and record the same things.
 */
export interface AutonomyServiceDeps {
  store: Pick<Store, 'connection'>;
  settings: Settings;
  /** AUTONOMY: the deployment-wide ceiling. */
  ceiling: Autonomy;
  /** The registered workflows. */
  workflows: readonly string[];
  now(): Date;
}

export interface GrantView {
  id: string;
  workflow: string;
  slice: SlicePattern;
  key: string;
  level: Autonomy;
  appliedBy: string;
  appliedAt: string;
  reason: string | null;
  recommendation: string | null;
  evidence: GrantEvidence | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

export interface OverrideView {
  source: 'config' | 'grant';
  slice: SlicePattern;
  key: string;
  /** The level the override asks for. */
  level: Autonomy;
  /** What it gives under AUTONOMY. */
  inForce: Autonomy;
  /** The grant behind it (who applied it, when, why). */
  grant: GrantView | null;
}

export interface WorkflowBoundaryReport {
  workflow: string;
  /** The workflow's own level, and whether the file set it or it is the default (`autonomous`). */
  own: Autonomy;
  ownFrom: 'config' | 'default';
  ceiling: Autonomy;
  /** The workflow's level in force for cases no override matches. */
  inForce: Autonomy;
  /** File entries first, in file order, then the grants in force, newest first. */
  overrides: OverrideView[];
  /** Grants revoked, newest first: the boundary's history. */
  revoked: GrantView[];
  evidence: EvidenceSummary;
  recommendations: Recommendation[];
}

export interface AutonomyReport {
  ceiling: Autonomy;
  bar: Settings['autonomy']['bar'];
  lower: Settings['autonomy']['lower'];
  bands: { confidence: string[]; amount: string[] };
  workflows: WorkflowBoundaryReport[];
}

export type Failure =
  | { ok: false; status: 'not-found'; message: string }
  | { ok: false; status: 'conflict'; message: string }
  | { ok: false; status: 'invalid'; message: string; problems: string[] };

const notFound = (message: string): Failure => ({ ok: false, status: 'not-found', message });
const unknownWorkflow = (deps: AutonomyServiceDeps, name: string) =>
  notFound(`unknown workflow "${name}" (registered: ${deps.workflows.join(', ') || 'none'})`);

function grantView(g: GrantDoc): GrantView {
  return {
    id: g._id,
    workflow: g.workflow,
    slice: g.slice,
    key: sliceKey(g.slice),
    level: g.level,
    appliedBy: g.appliedBy,
    appliedAt: new Date(g.appliedAt).toISOString(),
    reason: g.reason,
    recommendation: g.recommendation,
    evidence: g.evidence,
    revokedAt: g.revokedAt ? new Date(g.revokedAt).toISOString() : null,
    revokedBy: g.revokedBy,
  };
}

const activeOf = (grants: readonly GrantDoc[]): ActiveGrant[] =>
  grants
    .filter((g) => !g.revokedAt)
    .map((g) => ({ id: g._id, pattern: g.slice, level: g.level, appliedBy: g.appliedBy, appliedAt: g.appliedAt }));

async function workflowReport(deps: AutonomyServiceDeps, workflow: string): Promise<WorkflowBoundaryReport> {
  const { settings, ceiling } = deps;
  const configured = settings.workflows[workflow]?.autonomy;
  const own = configured ?? 'autonomous';
  const rules = workflowSliceRules(settings)[workflow] ?? [];
  // The grants in force in full (as `ctx.autonomy` reads them); the history, newest first, is only shown.
  const [active, grants, evidence] = await Promise.all([
    activeGrantDocs(deps.store, workflow),
    grantsOf(deps.store, workflow),
    gatherEvidence(deps.store, workflow, settings.autonomy),
  ]);
  return {
    workflow,
    own,
    ownFrom: configured ? 'config' : 'default',
    ceiling,
    inForce: lowestLevel(own, ceiling),
    overrides: [
      ...rules.map((r) => ({
        source: 'config' as const,
        slice: r.pattern,
        key: sliceKey(r.pattern),
        level: r.level,
        inForce: lowestLevel(r.level, ceiling),
        grant: null,
      })),
      ...active.map((g) => ({
        source: 'grant' as const,
        slice: g.slice,
        key: sliceKey(g.slice),
        level: g.level,
        inForce: lowestLevel(g.level, ceiling),
        grant: grantView(g),
      })),
    ],
    revoked: grants.filter((g) => g.revokedAt).map(grantView),
    evidence: evidence.summary,
    recommendations: recommend({
      observations: evidence.observations,
      boundary: { workflow, own, ceiling, rules, grants: activeOf(grants) },
      bar: settings.autonomy.bar,
      lower: settings.autonomy.lower,
      now: deps.now(),
    }),
  };
}

/** The boundary of every registered workflow (or one), with the recommendations the evidence supports. */
export async function autonomyReport(
  deps: AutonomyServiceDeps,
  filter: { workflow?: string } = {},
): Promise<{ ok: true; report: AutonomyReport } | Failure> {
  if (filter.workflow !== undefined && !deps.workflows.includes(filter.workflow))
    return unknownWorkflow(deps, filter.workflow);
  const names = filter.workflow !== undefined ? [filter.workflow] : [...deps.workflows].sort();
  const workflows = await Promise.all(names.map((w) => workflowReport(deps, w)));
  const bands = deps.settings.autonomy;
  return {
    ok: true,
    report: {
      ceiling: deps.ceiling,
      bar: bands.bar,
      lower: bands.lower,
      bands: { confidence: confidenceBandNames(bands.confidenceBands), amount: amountBandNames(bands.amountBands) },
      workflows,
    },
  };
}

export type GrantOutcome = { ok: true; grant: GrantView; note: string | null } | Failure;

/** What the evidence says of the cases a pattern covers, kept with a grant. */
function snapshot(observations: readonly Observation[], pattern: SlicePattern, confidence: number): GrantEvidence {
  const covered = observations.filter((o) => matchesSlice(pattern, o.slice));
  const agreed = covered.filter((o) => o.agreed).length;
  return {
    cases: covered.length,
    agreed,
    rate: covered.length === 0 ? null : agreed / covered.length,
    lower: covered.length === 0 ? null : wilson(agreed, covered.length, confidence).lower,
  };
}

const ACTOR = /^\S(.{0,198}\S)?$/;
const checkActor = (actor: string): Failure | null =>
  ACTOR.test(actor) ? null : { ok: false, status: 'invalid', message: 'who applies it is required', problems: [] };

/**
 * Applies a recommendation as a grant, recorded with who applied it and the evidence it rested on. The id must name
 * a recommendation the evidence supports now (`raise` or `lower`): once applied, the slice's level changes and so
 * does its recommendation, so applying twice finds nothing the second time.
 */
export async function applyRecommendation(
  deps: AutonomyServiceDeps,
  input: { recommendation: string; actor: string; reason?: string | undefined },
): Promise<GrantOutcome> {
  const bad = checkActor(input.actor);
  if (bad) return bad;
  const workflow = input.recommendation.split('/')[0] ?? '';
  if (!deps.workflows.includes(workflow)) return unknownWorkflow(deps, workflow);
  const report = await workflowReport(deps, workflow);
  const rec = report.recommendations.find((r) => r.id === input.recommendation);
  if (!rec)
    return notFound(
      `no recommendation "${input.recommendation}" now (the evidence or the boundary changed: list them again)`,
    );
  if (rec.action === 'hold') return { ok: false, status: 'conflict', message: `${rec.id} holds: ${rec.reason}` };
  const grant = await insertGrant(deps.store, {
    workflow,
    slice: rec.slice,
    level: rec.target,
    appliedBy: input.actor,
    appliedAt: deps.now(),
    reason: input.reason?.trim() || `${rec.action}: ${rec.reason}`,
    recommendation: rec.id,
    evidence: {
      cases: rec.cases,
      agreed: rec.agreed,
      rate: rec.rate,
      lower: rec.interval.lower,
    },
  });
  return { ok: true, grant: grantView(grant), note: rec.note };
}

/** Sets a slice's level by hand (`countersign autonomy set`), with a snapshot of the evidence it covers. */
export async function setSliceLevel(
  deps: AutonomyServiceDeps,
  input: {
    workflow: string;
    slice: { outcome?: string | undefined; confidence?: string | undefined; amount?: string | undefined };
    level: Autonomy;
    actor: string;
    reason?: string | undefined;
  },
): Promise<GrantOutcome> {
  const bad = checkActor(input.actor);
  if (bad) return bad;
  if (!deps.workflows.includes(input.workflow)) return unknownWorkflow(deps, input.workflow);
  const parsed = patternOf(input.slice, deps.settings.autonomy);
  if (!parsed.ok)
    return { ok: false, status: 'invalid', message: parsed.problems.join('; '), problems: parsed.problems };
  const evidence = await gatherEvidence(deps.store, input.workflow, deps.settings.autonomy);
  const grant = await insertGrant(deps.store, {
    workflow: input.workflow,
    slice: parsed.pattern,
    level: input.level,
    appliedBy: input.actor,
    appliedAt: deps.now(),
    reason: input.reason?.trim() || null,
    recommendation: null,
    evidence: snapshot(evidence.observations, parsed.pattern, deps.settings.autonomy.bar.confidence),
  });
  const capped = lowestLevel(input.level, deps.ceiling);
  return {
    ok: true,
    grant: grantView(grant),
    note: capped === input.level ? null : `AUTONOMY=${deps.ceiling} caps it at ${capped} until AUTONOMY allows more`,
  };
}

/** Revokes a grant: the slice falls back to the file or the workflow's level; the grant stays in the history. */
export async function revokeSliceGrant(
  deps: AutonomyServiceDeps,
  input: { grant: string; actor: string },
): Promise<{ ok: true; grant: GrantView } | Failure> {
  const bad = checkActor(input.actor);
  if (bad) return bad;
  const result = await revokeGrant(deps.store, input.grant, input.actor, deps.now());
  if (result.ok) return { ok: true, grant: grantView(result.grant) };
  if (result.reason === 'unknown-grant') return notFound(`no grant "${input.grant}"`);
  const g = result.grant;
  return {
    ok: false,
    status: 'conflict',
    message: `grant ${g._id} was already revoked by ${g.revokedBy ?? 'someone'} at ${g.revokedAt ? new Date(g.revokedAt).toISOString() : 'an unknown time'}`,
  };
}
