import { type AgreementDoc, agreementModel } from '../store/agreements.js';
import type { CheckpointDoc, ModelCallDoc, RunDoc, Store } from '../store/models.js';

/**
 * What the insights page counts, read from the store within one period: a few indexed finds with projections,
 * aggregated here in JavaScript (FerretDB 1.x lacks most `$group` accumulators, and a period holds at most a few
 * thousand runs). Each source is read only when a chart asks for it, so a chart's PNG or CSV costs one or two reads.
 */

export const INSIGHT_PERIODS = [7, 30, 90] as const;
export type InsightPeriodDays = (typeof INSIGHT_PERIODS)[number];

export type InsightSource = 'runs' | 'decisions' | 'calls' | 'agreements';

/** At most this many documents per source and period; a busier period is marked truncated (newest kept). */
const INSIGHT_READ_LIMIT = 20_000;

export interface InsightsFilter {
  days: InsightPeriodDays;
  workflow?: string | undefined;
  now: Date;
}

export interface InsightPeriod {
  since: Date;
  until: Date;
  /** Every day of the period, `YYYY-MM-DD` (UTC), oldest first. */
  days: string[];
}

export interface RunDayRow {
  day: string;
  workflow: string;
  outcome: string;
  runs: number;
}

export interface DecisionTimeRow {
  /** A channel or an approver. */
  group: string;
  decisions: number;
  p50Ms: number;
  p90Ms: number;
}

export interface CostSummary {
  /** Cost of each run created in the period (USD). */
  perRun: number[];
  totalUsd: number;
  p50Usd: number;
  p90Usd: number;
}

export interface AgentModelCost {
  agent: string;
  model: string;
  calls: number;
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
}

export interface AgreementRow {
  workflow: string;
  /** What the AI proposed (its outcome), or `all cases` for the workflow's total. */
  kind: string;
  compared: number;
  agreed: number;
}

export interface InsightsData {
  period: InsightPeriod;
  workflow: string | null;
  runsPerDay: RunDayRow[];
  timeByChannel: DecisionTimeRow[];
  timeByApprover: DecisionTimeRow[];
  cost: CostSummary;
  costByAgentModel: AgentModelCost[];
  agreement: AgreementRow[];
  /** Workflows with a decision point settled in the period (by anyone): those whose boundary the page shows. */
  decidedWorkflows: string[];
  /** Sources that hit INSIGHT_READ_LIMIT: their charts show the newest documents only. */
  truncated: InsightSource[];
}

const DAY_MS = 86_400_000;

function insightPeriod(days: InsightPeriodDays, now: Date): InsightPeriod {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const since = new Date(today - (days - 1) * DAY_MS);
  return {
    since,
    until: now,
    days: Array.from({ length: days }, (_, i) => new Date(since.getTime() + i * DAY_MS).toISOString().slice(0, 10)),
  };
}

/** Nearest-rank quantile of sorted values; 0 for none. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0;
}

type RunRow = Pick<RunDoc, '_id' | 'workflow' | 'status' | 'createdAt'> & { usage?: { costUsd?: number } };
type DecisionRow = Pick<CheckpointDoc, 'workflow' | 'createdAt'> & {
  decision?: Pick<NonNullable<CheckpointDoc['decision']>, 'actor' | 'channel' | 'decidedAt'>;
};
type CallRow = Pick<ModelCallDoc, 'runId' | 'agent' | 'model' | 'costUsd' | 'inputTokens' | 'outputTokens'>;
type AgreementRowDoc = Pick<
  AgreementDoc,
  'runId' | 'workflow' | 'proposed' | 'final' | 'decision' | 'decidedBy' | 'agreed'
>;

interface Raw {
  runs: RunRow[];
  decisions: DecisionRow[];
  calls: CallRow[];
  agreements: AgreementRowDoc[];
}

/** Channels where no person decided: a policy verdict is instant, a timeout is nobody's answer. */
const NOT_A_PERSON = new Set(['policy', 'timeout']);

async function read(
  store: Pick<Store, 'runs' | 'checkpoints' | 'modelCalls' | 'connection'>,
  filter: InsightsFilter,
  period: InsightPeriod,
  needs: ReadonlySet<InsightSource>,
): Promise<{ raw: Raw; truncated: InsightSource[] }> {
  const range = { $gte: period.since, $lte: period.until };
  const wf = filter.workflow ? { workflow: filter.workflow } : {};
  const [runs, decisions, calls, agreements] = await Promise.all([
    needs.has('runs')
      ? store.runs
          .find({ ...wf, createdAt: range }, { workflow: 1, status: 1, createdAt: 1, 'usage.costUsd': 1 })
          .sort({ createdAt: -1 })
          .limit(INSIGHT_READ_LIMIT)
          .lean<RunRow[]>()
      : [],
    needs.has('decisions')
      ? store.checkpoints
          .find(
            { status: { $in: ['approved', 'rejected'] }, 'decision.decidedAt': range, ...wf },
            { workflow: 1, createdAt: 1, 'decision.actor': 1, 'decision.channel': 1, 'decision.decidedAt': 1 },
          )
          .sort({ 'decision.decidedAt': -1 })
          .limit(INSIGHT_READ_LIMIT)
          .lean<DecisionRow[]>()
      : [],
    needs.has('calls')
      ? store.modelCalls
          .find({ at: range }, { _id: 0, runId: 1, agent: 1, model: 1, costUsd: 1, inputTokens: 1, outputTokens: 1 })
          .sort({ at: -1 })
          .limit(INSIGHT_READ_LIMIT)
          .lean<CallRow[]>()
      : [],
    needs.has('agreements')
      ? agreementModel(store)
          .find(
            { ...wf, decidedAt: range },
            { runId: 1, workflow: 1, proposed: 1, final: 1, decision: 1, decidedBy: 1, agreed: 1 },
          )
          .sort({ decidedAt: -1 })
          .limit(INSIGHT_READ_LIMIT)
          .lean<AgreementRowDoc[]>()
      : [],
  ]);
  const raw = { runs, decisions, calls, agreements };
  const truncated = (Object.keys(raw) as InsightSource[]).filter((k) => raw[k].length >= INSIGHT_READ_LIMIT);
  return { raw, truncated };
}

const UNFINISHED: Record<string, string> = {
  queued: 'in progress',
  running: 'in progress',
  waiting: 'waiting',
  failed: 'failed',
  cancelled: 'cancelled',
};

/**
 * A run's outcome: its status until it finishes; for a finished run, what was decided at its last decision point
 * (the proposal's outcome as kept or edited, `rejected`, and `by policy` when no person decided).
 */
function outcomeOf(run: RunRow, decided: AgreementRowDoc | undefined): string {
  const unfinished = UNFINISHED[run.status];
  if (unfinished) return unfinished;
  if (!decided) return 'completed';
  const what =
    decided.decision === 'reject' ? 'rejected' : typeof decided.final === 'string' ? decided.final : 'approved';
  return decided.decidedBy === 'person' ? what : `${what} (by ${decided.decidedBy})`;
}

function runsPerDay(raw: Raw): RunDayRow[] {
  // Newest decision first: a run with several decision points (approval stages) shows its last.
  const lastDecision = new Map<string, AgreementRowDoc>();
  for (const a of raw.agreements) if (!lastDecision.has(a.runId)) lastDecision.set(a.runId, a);
  const counts = new Map<string, RunDayRow>();
  for (const run of raw.runs) {
    const day = new Date(run.createdAt).toISOString().slice(0, 10);
    const outcome = outcomeOf(run, lastDecision.get(run._id));
    const key = `${day}\u0000${run.workflow}\u0000${outcome}`;
    const row = counts.get(key) ?? { day, workflow: run.workflow, outcome, runs: 0 };
    row.runs += 1;
    counts.set(key, row);
  }
  return [...counts.values()].sort(
    (a, b) => a.day.localeCompare(b.day) || a.workflow.localeCompare(b.workflow) || a.outcome.localeCompare(b.outcome),
  );
}

/** Groups beyond this many (the busiest kept) are summed into `others`, so the chart stays readable. */
const MAX_GROUPS = 12;

function decisionTimes(raw: Raw, groupOf: (d: DecisionRow) => string): DecisionTimeRow[] {
  const waits = new Map<string, number[]>();
  for (const d of raw.decisions) {
    if (!d.decision?.decidedAt || NOT_A_PERSON.has(d.decision.channel)) continue;
    const ms = Math.max(0, new Date(d.decision.decidedAt).getTime() - new Date(d.createdAt).getTime());
    const group = groupOf(d);
    waits.set(group, [...(waits.get(group) ?? []), ms]);
  }
  const groups = [...waits].sort((a, b) => b[1].length - a[1].length || a[0].localeCompare(b[0]));
  const kept = groups.slice(0, MAX_GROUPS);
  const rest = groups.slice(MAX_GROUPS).flatMap(([, v]) => v);
  if (rest.length > 0) kept.push(['others', rest]);
  return kept.map(([group, values]) => {
    const sorted = [...values].sort((a, b) => a - b);
    return { group, decisions: sorted.length, p50Ms: quantile(sorted, 0.5), p90Ms: quantile(sorted, 0.9) };
  });
}

function costs(raw: Raw, workflow: string | undefined): { cost: CostSummary; byAgentModel: AgentModelCost[] } {
  const perRun = raw.runs.map((r) => r.usage?.costUsd ?? 0);
  const sorted = [...perRun].sort((a, b) => a - b);
  // With a workflow chosen, only calls of its runs in the period count (model calls do not name their workflow).
  const runIds = new Set(raw.runs.map((r) => r._id));
  const byKey = new Map<string, AgentModelCost>();
  for (const c of raw.calls) {
    if (workflow && !runIds.has(c.runId)) continue;
    const key = `${c.agent}\u0000${c.model}`;
    const row = byKey.get(key) ?? {
      agent: c.agent,
      model: c.model,
      calls: 0,
      costUsd: 0,
      inputTokens: 0,
      outputTokens: 0,
    };
    row.calls += 1;
    row.costUsd += c.costUsd ?? 0;
    row.inputTokens += c.inputTokens ?? 0;
    row.outputTokens += c.outputTokens ?? 0;
    byKey.set(key, row);
  }
  return {
    cost: {
      perRun,
      totalUsd: perRun.reduce((s, x) => s + x, 0),
      p50Usd: quantile(sorted, 0.5),
      p90Usd: quantile(sorted, 0.9),
    },
    byAgentModel: [...byKey.values()]
      .sort((a, b) => b.costUsd - a.costUsd || b.calls - a.calls || a.agent.localeCompare(b.agent))
      .slice(0, 20),
  };
}

/** Person decisions on a clear proposal, by workflow and by what the AI proposed, with each workflow's total. */
function agreement(raw: Raw): AgreementRow[] {
  const rows = new Map<string, AgreementRow>();
  const add = (workflow: string, kind: string, agreed: boolean) => {
    const key = `${workflow}\u0000${kind}`;
    const row = rows.get(key) ?? { workflow, kind, compared: 0, agreed: 0 };
    row.compared += 1;
    if (agreed) row.agreed += 1;
    rows.set(key, row);
  };
  for (const a of raw.agreements) {
    if (a.decidedBy !== 'person' || typeof a.agreed !== 'boolean') continue;
    add(a.workflow, typeof a.proposed === 'string' ? a.proposed : 'whole proposal', a.agreed);
    add(a.workflow, 'all cases', a.agreed);
  }
  return [...rows.values()].sort(
    (a, b) =>
      a.workflow.localeCompare(b.workflow) ||
      Number(a.kind === 'all cases') - Number(b.kind === 'all cases') ||
      a.kind.localeCompare(b.kind),
  );
}

/** Reads the sources `needs` names (one request each) and aggregates what the charts show. */
export async function loadInsights(
  store: Pick<Store, 'runs' | 'checkpoints' | 'modelCalls' | 'connection'>,
  filter: InsightsFilter,
  needs: ReadonlySet<InsightSource>,
): Promise<InsightsData> {
  const period = insightPeriod(filter.days, filter.now);
  const { raw, truncated } = await read(store, filter, period, needs);
  const { cost, byAgentModel } = costs(raw, filter.workflow);
  return {
    period,
    workflow: filter.workflow ?? null,
    runsPerDay: runsPerDay(raw),
    timeByChannel: decisionTimes(raw, (d) => d.decision?.channel ?? 'unknown'),
    timeByApprover: decisionTimes(raw, (d) => d.decision?.actor ?? 'unknown'),
    cost,
    costByAgentModel: byAgentModel,
    agreement: agreement(raw),
    decidedWorkflows: [...new Set(raw.agreements.map((a) => a.workflow))].sort(),
    truncated,
  };
}

export interface WaitingNow {
  waitingRuns: number;
  pendingCheckpoints: number;
}

/** Runs waiting (for a person, a timer or an event) and checkpoints pending now: two indexed counts. */
export async function waitingNow(store: Pick<Store, 'runs' | 'checkpoints'>, workflow?: string): Promise<WaitingNow> {
  const wf = workflow ? { workflow } : {};
  const [waitingRuns, pendingCheckpoints] = await Promise.all([
    store.runs.countDocuments({ status: 'waiting', ...wf }),
    store.checkpoints.countDocuments({ status: 'pending', ...wf }),
  ]);
  return { waitingRuns, pendingCheckpoints };
}
