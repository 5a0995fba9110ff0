import { z } from 'zod';

/**
 * One eval case: what a workflow was given, and what a person decided about the AI's proposal. Hand-written cases
 * live in each module (`agents/<module>/evals/`); `countersign eval export` writes decided checkpoints in the same
 * shape, one JSON object per line.
 */
export const evalCaseSchema = z.strictObject({
  /** Unique within a dataset; the gate names changed cases by it. */
  id: z.string().trim().min(1).max(200),
  workflow: z.string().min(1),
  source: z.enum(['hand-written', 'export']).default('hand-written'),
  /** Free labels; `guardrail` and `adversarial` are read by the report. */
  tags: z.array(z.string()).default([]),
  /** For people: what the case is about and why it is expected to end as it does. */
  note: z.string().optional(),
  /** The workflow's input exactly as a run received it (validated by the workflow's own schema when run). */
  input: z.unknown(),
  expected: z.strictObject({
    /** The person approved the proposal (possibly edited) or rejected it. */
    decision: z.enum(['approve', 'reject']),
    /**
     * The value of the workflow's outcome field the AI should have proposed (`accept`, `reject`, `review`,
     * `approve`, `partial`, `deny`…); null when the person rejected the checkpoint (an AI that deferred to a
     * person agrees with that, one that proposed a clear outcome does not).
     */
    outcome: z.string().nullable(),
    /** The editable values after the person's edits (fields absent here are not compared). */
    values: z.record(z.string(), z.unknown()).default({}),
  }),
  /**
   * A case whose outcome must never flip: a failure fails the gate whatever the agreement rate. `twin` names a
   * clean case the outcome must also equal (the same dispute without the injected instruction).
   */
  guardrail: z.strictObject({ twin: z.string().optional() }).optional(),
  /** What production recorded (exported cases only): the proposal and the agents' findings as the agents saw them. */
  recorded: z
    .strictObject({
      runId: z.string(),
      checkpointId: z.string(),
      proposal: z.unknown(),
      /** Agent step results by step id. */
      evidence: z.record(z.string(), z.unknown()).default({}),
      /** Agent name → version (src/agents/version.ts) of the agents that formed the proposal. */
      versions: z.record(z.string(), z.string()).default({}),
      decidedBy: z.string(),
      channel: z.string(),
      decidedAt: z.string(),
    })
    .optional(),
});
export type EvalCase = z.infer<typeof evalCaseSchema>;
/** What a module writes: defaults (source, tags, values) may be left out. */
export type EvalCaseInput = z.input<typeof evalCaseSchema>;

/** What an eval records of one agent's work on one case. */
export interface AgentCallSummary {
  agent: string;
  /** src/agents/version.ts: a hash of the agent's instructions, schemas, tools and model. */
  version: string;
  model: string;
  provider: string;
  /** Model requests, retries included. */
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
  /** Sum of the model requests' latencies. */
  latencyMs: number;
}

/** The AI's proposal at the workflow's decision point, as the eval harness caught it. */
export interface ProposalCapture {
  /** The proposal's outcome as the AI stated it (e.g. `review` too); null when the workflow states none. */
  outcome: string | null;
  /** The clear proposal compared with people (the checkpoint's `agreement.proposed`); null: the AI deferred. */
  proposed: unknown;
  /** The editable field carrying the outcome (`outcome`, `decision`); null: the whole proposal. */
  field: string | null;
  /** The editable values as the person would have found them prefilled. */
  values: Record<string, unknown>;
  confidence: number | null;
  /** The case's amount in major units, when the workflow has one (autonomy slices). */
  amount: number | null;
  rationale: string | null;
  /** What the workflow's autonomy rule would allow at `assisted` or above; null when it takes no verdict. */
  wouldAutoDecide: boolean | null;
  /** The checkpoint (or approval) step id the harness stopped at. */
  checkpoint: string;
}

export interface ScoreResult {
  /** The scorer's name, shown in the report. */
  scorer: string;
  /** null: the scorer does not apply to this case (e.g. no reply field, nothing to compare). */
  pass: boolean | null;
  /** 0..1 where the scorer grades (field share, judge score / 5); null when it only passes or fails. */
  score: number | null;
  /** One line for people: what was compared and what came out. */
  detail: string;
  /** A model judge's reasons, kept for the report. */
  reasons?: string[];
}

/** The kind of case, as the autonomy boundary slices it. */
export interface CaseSlice {
  outcome: string;
  confidenceBand: string;
  amountBand: string;
}

export interface CaseResult {
  id: string;
  source: EvalCase['source'];
  tags: string[];
  note?: string;
  input: unknown;
  expected: EvalCase['expected'];
  guardrail?: EvalCase['guardrail'];
  /** null when the case errored before the decision point. */
  capture: ProposalCapture | null;
  error: string | null;
  scores: ScoreResult[];
  /** Outcome agreement (the `outcome` scorer's pass), repeated here because everything aggregates on it. */
  agreed: boolean | null;
  /** Each compared editable field: whether the person kept the AI's value (empty when nothing was compared). */
  fields: Record<string, boolean>;
  agents: AgentCallSummary[];
  usage: { inputTokens: number; outputTokens: number; cachedTokens: number; costUsd: number };
  /** Wall time of the case, model time included. */
  latencyMs: number;
  /** Sum of the model requests' latencies (the part the harness does not own). */
  modelLatencyMs: number;
  slice: CaseSlice | null;
}

export interface CalibrationBin {
  /** e.g. `0.8–0.9` */
  band: string;
  from: number;
  to: number;
  cases: number;
  meanConfidence: number | null;
  agreementRate: number | null;
}

export interface EvalSummary {
  cases: number;
  /** Cases that errored before their decision point (a model that failed, an input the workflow refused). */
  errors: number;
  agreement: { compared: number; agreed: number; rate: number | null };
  /** Outcome agreement by the expected outcome. */
  byOutcome: { outcome: string; cases: number; agreed: number; rate: number | null }[];
  /** Field-level agreement on the editable values. */
  fields: { field: string; compared: number; agreed: number; rate: number | null }[];
  replyQuality: { judged: number; passed: number; meanScore: number | null };
  guardrails: { cases: number; failed: string[] };
  calibration: CalibrationBin[];
  /** Expected calibration error: how far confidence is from agreement, weighted by cases. */
  calibrationError: number | null;
  cost: { totalUsd: number; perCaseUsd: number; p50Usd: number; p90Usd: number };
  /**
   * Case wall time, and the model requests' latency summed per case: agents of a case run in parallel, so the sum
   * may exceed the wall time. What a case costs beyond the model is measured by `npm run bench` (a 0 ms model).
   */
  latency: { p50Ms: number; p90Ms: number; meanMs: number; meanModelMs: number };
  tokens: { input: number; output: number; cached: number };
  /** Pass counts of every scorer by name. */
  scorers: { scorer: string; applied: number; passed: number }[];
}

/** One case whose result differs from the baseline's. */
export interface CaseChange {
  id: string;
  before: string;
  after: string;
  why: string;
}

export interface GateResult {
  baseline: { source: string; id: string | null; agreement: number | null; cases: number };
  maxRegression: number;
  /** Agreement now minus the baseline's, in rate points (0.02 = 2 points). */
  delta: number | null;
  passed: boolean;
  /** One line per reason the gate failed; empty when it passed. */
  failures: string[];
  changes: CaseChange[];
}

/** One eval run, as stored in `eval_runs` and written by `--json`. A later `--baseline` accepts this file. */
export interface EvalRun {
  id: string;
  workflow: string;
  module: string;
  model: string;
  provider: string;
  /** Agent name → version of every agent the workflow's cases used. */
  agentVersions: Record<string, string>;
  /** One hash over every agent version: changes when any instructions, schema, tool or model change. */
  promptVersion: string;
  dataset: { name: string; hash: string; cases: number };
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  concurrency: number;
  /** Scorer names in the order they ran. */
  scorers: string[];
  summary: EvalSummary;
  cases: CaseResult[];
  gate: GateResult | null;
  /** Set when the cost ceiling stopped the run early: the cases not run are counted as errors. */
  stoppedBy: string | null;
}

/** A model's verdict on a drafted reply against a rubric. */
export interface JudgeVerdict {
  /** 1 (unusable) … 5 (send as is). */
  score: number;
  pass: boolean;
  /** Why, one finding per item: kept in the report beside the reply. */
  reasons: string[];
}

/** Grades a reply against a rubric with a model (the offline judge in tests); usage lands on the case. */
export type ReplyJudge = (args: {
  rubric: string;
  reply: string;
  /** What the judge may check the reply against: the case's input and the outcome it should convey. */
  facts: { input: unknown; outcome: string | null };
}) => Promise<JudgeVerdict>;

export interface ScorerInput {
  case: EvalCase;
  capture: ProposalCapture;
  suite: WorkflowEvalSuite;
  judge: ReplyJudge;
}

/** A plain function over one case's proposal; a module adds its own beside the built-in ones. */
export interface Scorer {
  name: string;
  /** One sentence for the report. */
  description: string;
  score(input: ScorerInput): ScoreResult | Promise<ScoreResult>;
}

/** What a module declares to have a workflow evaluated (ModuleParts.evals). */
export interface WorkflowEvalSuite {
  /** The hand-written cases (agents/<module>/evals/), run when `countersign eval` gets no `--dataset`. */
  cases: readonly EvalCaseInput[];
  /** The editable field holding the text the customer receives, graded by the judge against `rubric`. */
  replyField?: string;
  rubric?: string;
  /** Editable fields compared value by value (default: every field in the case's expected values but the reply). */
  fields?: readonly string[];
  /** Scorers the module adds after the built-in ones. */
  scorers?: readonly Scorer[];
}
