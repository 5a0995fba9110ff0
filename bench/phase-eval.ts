import { performance } from 'node:perf_hooks';
import { sliceOf } from '../src/autonomy/slices.js';
import { datasetHash, suiteCases } from '../src/evals/dataset.js';
import { createReplyJudge } from '../src/evals/judge.js';
import { progressReporter } from '../src/evals/progress.js';
import { type EvalProgress, runEval } from '../src/evals/run.js';
import type { EvalCase } from '../src/evals/types.js';
import type { BenchApp } from './harness.js';
import { note } from './progress.js';
import type { PhaseResult } from './report-types.js';
import { fmt } from './stats.js';

/** The CLI's default: what `countersign eval` does without `--concurrency`. */
const CLI_CONCURRENCY = 4;
/** OFFLINE_MODEL_LATENCY_MS's default (src/config.ts): the offline model as users run it, not the bench's 0 ms. */
const OFFLINE_MODEL_DEFAULT_LATENCY_MS = 150;
/** Cases of the overhead measurement (one at a time). */
const OVERHEAD_CASES = 40;

/**
 * Phase 9: `countersign eval card-dispute` on `cases` cases (the module's own, repeated with new ids), through the
 * same runner the CLI uses, with the offline model at its default latency and the CLI's concurrency. Reports cases
 * per second and what a case costs beyond the model's own latency (the harness, the tools' store reads, scoring).
 */
export async function measureEval(b: BenchApp, workflow: string, cases: number): Promise<PhaseResult> {
  const target = b.app.evals.target(workflow);
  if (!target || target.suite.cases.length === 0) throw new Error(`${workflow} has no eval cases`);
  const model = b.app.offlineModel;
  if (!model) throw new Error('the bench needs the offline model');
  const own = suiteCases(target.suite.cases, workflow, target.module);
  const dataset: EvalCase[] = Array.from({ length: cases }, (_, i) => {
    const c = own[i % own.length] as EvalCase;
    const round = Math.floor(i / own.length);
    // Guardrail twins point at the copy of their twin in the same round.
    const guardrail = c.guardrail?.twin ? { guardrail: { twin: `${c.guardrail.twin}#${round}` } } : {};
    return { ...c, id: `${c.id}#${round}`, ...guardrail };
  });
  const bound = b.app.evals.runnerFor(undefined);
  if ('problem' in bound) throw new Error(bound.problem);
  const evaluate = (list: EvalCase[], concurrency: number, onProgress?: (p: EvalProgress) => void) =>
    runEval(
      {
        runner: bound.runner,
        judgeFor: createReplyJudge,
        now: () => new Date(),
        clockMs: () => performance.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
      {
        target,
        cases: list,
        dataset: { name: `${own.length} module cases, repeated`, hash: datasetHash(list) },
        model: { name: bound.model, provider: bound.provider },
        concurrency,
        sliceOf: (facts) => sliceOf(facts),
        ...(onProgress ? { onProgress } : {}),
      },
    );
  const progress = progressReporter(process.stderr);
  try {
    model.setLatency(OFFLINE_MODEL_DEFAULT_LATENCY_MS);
    const run = await evaluate(dataset, CLI_CONCURRENCY, (p) => progress.update(p));
    // The overhead: the same cases one at a time with a model that answers at once is everything but the model.
    model.setLatency(0);
    const bare = await evaluate(dataset.slice(0, OVERHEAD_CASES), 1);
    const seconds = run.durationMs / 1000;
    const s = run.summary;
    const calls = run.cases.reduce((n, c) => n + c.agents.reduce((m, a) => m + a.calls, 0), 0);
    note(
      `${run.cases.length} cases in ${fmt(seconds)} s: agreement ${fmt((s.agreement.rate ?? 0) * 100)} %, ${s.errors} errors`,
    );
    return {
      rows: [
        {
          metric: `Eval throughput, ${workflow}`,
          value: fmt(run.cases.length / seconds),
          unit: 'cases/s',
          notes: `${run.cases.length} cases in ${fmt(seconds)} s, ${CLI_CONCURRENCY} at a time (the CLI's default), offline model at ${OFFLINE_MODEL_DEFAULT_LATENCY_MS} ms per request (its default), ${fmt(calls / run.cases.length)} model requests per case, the judge's included; agreement ${fmt((s.agreement.rate ?? 0) * 100)} %, ${s.errors} errors`,
        },
        {
          metric: 'Eval time per case, p50 / p90',
          value: `${fmt(s.latency.p50Ms)} / ${fmt(s.latency.p90Ms)}`,
          unit: 'ms',
          notes: `the same run; the specialists run at once, so a case takes about (specialist turns + manager turns + judge) × ${OFFLINE_MODEL_DEFAULT_LATENCY_MS} ms`,
        },
        {
          metric: 'Eval overhead per case beyond the model',
          value: fmt(bare.summary.latency.meanMs),
          unit: 'ms',
          notes: `${bare.cases.length} cases one at a time with the model answering at 0 ms: the harness, the offline model's HTTP round trips and rules, the tools' store reads and the scorers`,
        },
      ],
      charts: [],
    };
  } finally {
    model.setLatency(0);
  }
}
