import { randomUUID } from 'node:crypto';
import { bufferedCallLog } from '../agents/call-log.js';
import type { Agent, AgentRunner } from '../agents/define.js';
import { promptVersion } from '../agents/version.js';
import type { EvalTarget } from '../modules/catalogue.js';
import { type HarnessOutcome, proposeFor, summarize as summarizeCalls } from './harness.js';
import { judgeAgent } from './judge.js';
import { BUILT_IN_SCORERS, checkTwins, fieldMatches, statedOutcome } from './scorers.js';
import { summarize } from './summary.js';
import type {
  AgentCallSummary,
  CaseResult,
  CaseSlice,
  EvalCase,
  EvalRun,
  ProposalCapture,
  ReplyJudge,
  ScoreResult,
  Scorer,
} from './types.js';

export interface EvalProgress {
  done: number;
  total: number;
  compared: number;
  agreed: number;
  errors: number;
  tokens: number;
  costUsd: number;
  elapsedMs: number;
  /** null until a case has finished. */
  etaMs: number | null;
}

export interface EvalRunnerDeps {
  /** The agent runtime bound to the model under evaluation. */
  runner: AgentRunner;
  /** Builds the reply judge from a function that runs an agent (the judge agent) and returns its output. */
  judgeFor(runAgent: <I, O>(agent: Agent<I, O>, input: I) => Promise<O>): ReplyJudge;
  now(): Date;
  /** Wall-clock milliseconds for latency (performance.now in production). */
  clockMs(): number;
  sleep(ms: number): Promise<void>;
}

export interface EvalRunOptions {
  target: EvalTarget;
  cases: readonly EvalCase[];
  dataset: { name: string; hash: string };
  model: { name: string; provider: string };
  concurrency: number;
  /** Stop starting cases once the estimated spend reaches this (cases already running finish). */
  maxCostUsd?: number;
  /** Tries per case after the runtime's own retries ran out on a 429/5xx (default 3). */
  caseAttempts?: number;
  /** The kind of case for the autonomy boundary (src/autonomy/slices.ts with the configured bands). */
  sliceOf?(facts: { outcome: string; confidence: number | null; amount: number | null }): CaseSlice;
  onProgress?(progress: EvalProgress): void;
}

const totalOf = (agents: readonly AgentCallSummary[]) => ({
  inputTokens: agents.reduce((s, a) => s + a.inputTokens, 0),
  outputTokens: agents.reduce((s, a) => s + a.outputTokens, 0),
  cachedTokens: agents.reduce((s, a) => s + a.cachedTokens, 0),
  costUsd: agents.reduce((s, a) => s + a.costUsd, 0),
});

/**
 * Runs every case through the workflow up to its decision point, with at most `concurrency` cases at a time, scores
 * each with the built-in scorers and the module's own, and summarizes. Never writes to the store and never acts:
 * see `proposeFor`.
 */
export async function runEval(deps: EvalRunnerDeps, options: EvalRunOptions): Promise<EvalRun> {
  const { target, cases } = options;
  const scorers: readonly Scorer[] = [...BUILT_IN_SCORERS, ...(target.suite.scorers ?? [])];
  const startedAt = deps.now();
  const startMs = deps.clockMs();
  const results: (CaseResult | undefined)[] = new Array(cases.length);
  const attempts = Math.max(1, options.caseAttempts ?? 3);
  let spent = 0;
  let tokens = 0;
  let done = 0;
  let stoppedBy: string | null = null;

  const progress = () => {
    const finished = results.filter((r): r is CaseResult => r !== undefined);
    const compared = finished.filter((r) => r.agreed !== null);
    const elapsedMs = deps.clockMs() - startMs;
    options.onProgress?.({
      done,
      total: cases.length,
      compared: compared.length,
      agreed: compared.filter((r) => r.agreed).length,
      errors: finished.filter((r) => r.error !== null).length,
      tokens,
      costUsd: spent,
      elapsedMs,
      etaMs: done === 0 ? null : (elapsedMs / done) * (cases.length - done),
    });
  };

  async function runCase(c: EvalCase): Promise<CaseResult> {
    const started = deps.clockMs();
    const agents: AgentCallSummary[] = [];
    let outcome: HarnessOutcome | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      outcome = await proposeFor({ runner: deps.runner, now: deps.now }, target.workflow, c.id, c.input);
      agents.push(...outcome.agents);
      if (outcome.retryAfterMs === undefined || attempt === attempts) break;
      await deps.sleep(Math.max(outcome.retryAfterMs, 1_000 * 2 ** (attempt - 1)));
    }
    const { capture = null, error = 'not run' } = outcome ?? {};
    const judgeCalls: AgentCallSummary[] = [];
    const judge = deps.judgeFor(async (agent, input) => {
      const log = bufferedCallLog();
      try {
        const run = await deps.runner.run(agent, input, { runId: `eval:${c.id}:judge`, stepId: agent.name, log });
        return run.output;
      } finally {
        judgeCalls.push(summarizeCalls(agent as Agent<unknown, unknown>, log.modelCalls()));
      }
    });
    const scores: ScoreResult[] = [];
    let fields: Record<string, boolean> = {};
    if (capture) {
      const input = { case: c, capture, suite: target.suite, judge };
      fields = fieldMatches(input);
      for (const scorer of scorers) {
        try {
          scores.push(await scorer.score(input));
        } catch (err) {
          // A scorer that fails (the judge's model down) leaves the case unscored by it, and says why.
          scores.push({
            scorer: scorer.name,
            pass: null,
            score: null,
            detail: `scorer failed: ${(err as Error).message}`,
          });
        }
      }
    }
    const all = [...agents, ...judgeCalls];
    const usage = totalOf(all);
    spent += usage.costUsd;
    tokens += usage.inputTokens + usage.outputTokens;
    const outcomeScore = scores.find((s) => s.scorer === 'outcome');
    return {
      ...caseFields(c),
      capture,
      error: capture ? null : error,
      scores,
      // An error is a disagreement: a case the AI could not answer is one a person had to.
      agreed: capture ? (outcomeScore?.pass ?? null) : false,
      fields,
      agents: all,
      usage,
      latencyMs: Math.round(deps.clockMs() - started),
      modelLatencyMs: all.reduce((s, a) => s + a.latencyMs, 0),
      slice: sliceFor(capture, options),
    };
  }

  let next = 0;
  const lane = async () => {
    for (;;) {
      const i = next++;
      const c = cases[i];
      if (c === undefined) return;
      if (options.maxCostUsd !== undefined && spent >= options.maxCostUsd) {
        stoppedBy ??= `the cost ceiling of $${options.maxCostUsd} was reached after $${spent.toFixed(4)}`;
        results[i] = notRun(c, stoppedBy);
      } else {
        results[i] = await runCase(c);
      }
      done++;
      progress();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, cases.length)) }, lane));

  const finished = results.filter((r): r is CaseResult => r !== undefined);
  checkTwins(finished);
  // The judge's work is the eval's cost, not the workflow's: listed per case, kept out of the versions.
  const agentVersions: Record<string, string> = {};
  // Only agents that reached the model: one that failed before its first call is hashed without its model.
  for (const r of finished)
    for (const a of r.agents) if (a.agent !== judgeAgent.name && a.calls > 0) agentVersions[a.agent] = a.version;
  const finishedAt = deps.now();
  return {
    id: `eval_${startedAt
      .toISOString()
      .replace(/[-:.TZ]/g, '')
      .slice(0, 14)}_${randomUUID().slice(0, 6)}`,
    workflow: target.workflow.name,
    module: target.module,
    model: modelsSeen(finished) ?? options.model.name,
    provider: options.model.provider,
    agentVersions,
    promptVersion: promptVersion(agentVersions),
    dataset: { ...options.dataset, cases: cases.length },
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationMs: Math.round(deps.clockMs() - startMs),
    concurrency: options.concurrency,
    scorers: scorers.map((s) => s.name),
    summary: summarize(
      finished,
      scorers.map((s) => s.name),
    ),
    cases: finished,
    gate: null,
    stoppedBy,
  };
}

/**
 * The models the workflow's agents actually ran on (the configuration may choose per agent), `provider:model` for
 * named providers; null when no agent reached a model.
 */
function modelsSeen(results: readonly CaseResult[]): string | null {
  const seen = new Set<string>();
  for (const r of results)
    for (const a of r.agents)
      if (a.calls > 0 && a.agent !== judgeAgent.name)
        seen.add(a.provider === 'default' ? a.model : `${a.provider}:${a.model}`);
  return seen.size === 0 ? null : [...seen].sort().join(', ');
}

function sliceFor(capture: ProposalCapture | null, options: EvalRunOptions): CaseSlice | null {
  // Only a clear proposal can ever stand alone: deferrals belong to no slice of the boundary.
  if (!capture || capture.proposed === null || !options.sliceOf) return null;
  const outcome = statedOutcome({ ...capture, outcome: null });
  return outcome === null ? null : options.sliceOf({ outcome, confidence: capture.confidence, amount: capture.amount });
}

/** What a result repeats of its case, so the report and the gate need only the results. */
function caseFields(
  c: EvalCase,
): Pick<CaseResult, 'id' | 'source' | 'tags' | 'note' | 'input' | 'expected' | 'guardrail'> {
  return {
    id: c.id,
    source: c.source,
    tags: c.tags,
    ...(c.note !== undefined ? { note: c.note } : {}),
    input: c.input,
    expected: c.expected,
    ...(c.guardrail ? { guardrail: c.guardrail } : {}),
  };
}

function notRun(c: EvalCase, why: string): CaseResult {
  return {
    ...caseFields(c),
    capture: null,
    error: `not run: ${why}`,
    scores: [],
    agreed: false,
    fields: {},
    agents: [],
    usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 },
    latencyMs: 0,
    modelLatencyMs: 0,
    slice: null,
  };
}
