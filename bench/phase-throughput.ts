import type { BenchApp } from './harness.js';
import { countRequests, pool, storeCollections, waitForCount } from './harness.js';
import { counter } from './progress.js';
import type { PhaseResult } from './report-types.js';
import { breakdown, outside, type RequestSpan } from './requests.js';
import { fmt, histogram, percentile } from './stats.js';

export interface ThroughputResult extends PhaseResult {
  runsPerSecond: number;
  runIds: string[];
  latenciesMs: number[];
  /** The app's store requests from the first webhook to the last run at its checkpoint. */
  requests: RequestSpan;
  /** Per run, to the checkpoint, and once the notifications that follow it are done too. */
  requestsPerRun: number;
  requestsPerRunWithNotify: number;
  /** Of `requestsPerRun`, those on collections outside the store's models (the tools' own data). */
  moduleDataPerRun: number;
}

/** The budget for webhook → pending checkpoint, `card-dispute`, logs included. */
export const WEBHOOK_BUDGET = 25;

/** Pending checkpoints in the bench database: the cheapest signal that a run reached its checkpoint. */
export const pendingCount = (b: BenchApp) => () => b.observer.checkpoints.countDocuments({ status: 'pending' }).exec();
export const failedCount = (b: BenchApp) => () => b.observer.runs.countDocuments({ status: 'failed' }).exec();

/**
 * Phase 1: N signed webhooks with a bounded number in flight, timed until every run waits at its checkpoint.
 * Per-run latency is run.createdAt (webhook accepted) → checkpoint.createdAt, both stored by the app. The app's
 * store requests are counted over the same stretch (the bench polls on its own connection), from an idle app.
 */
export async function measureThroughput(b: BenchApp, runs: number, inFlight: number): Promise<ThroughputResult> {
  const before = await pendingCount(b)();
  let started = 0;
  let finished = 0;
  let runIds: string[] = [];
  // The runs' own requests, with the approvers' notifications held back and counted after.
  const counted = await countRequests(b, async () => {
    const posted = counter('webhooks accepted', runs);
    started = Date.now();
    runIds = await pool(
      Array.from({ length: runs }, (_, i) => i),
      inFlight,
      (i) => b.webhook(i),
      (n) => posted.update(n),
    );
    const postedMs = Date.now() - started;
    posted.end(`${runs} in ${fmt(postedMs / 1000)} s (${fmt(runs / (postedMs / 1000))}/s accepted)`);
    const waiting = counter('runs at a pending checkpoint', runs);
    finished = await waitForCount({
      count: async () => (await pendingCount(b)()) - before,
      target: runs,
      timeoutMs: Math.max(180_000, runs * 5_000),
      failed: failedCount(b),
      onProgress: (n) => waiting.update(n),
    });
    waiting.end(
      `all ${runs} in ${fmt((finished - started) / 1000)} s → ${fmt(runs / ((finished - started) / 1000))} runs/s`,
    );
  });
  const wallSeconds = (finished - started) / 1000;
  const runsPerSecond = runs / wallSeconds;
  const requests = counted.run;
  const withNotify = counted.withNotify;
  const requestsPerRun = requests.total / runs;
  const requestsPerRunWithNotify = withNotify.total / runs;
  const moduleData = outside(requests, storeCollections(b));

  const [runDocs, cps, modelCalls] = await Promise.all([
    b.observer.runs.find({ _id: { $in: runIds } }, { createdAt: 1 }).lean(),
    b.observer.checkpoints.find({ runId: { $in: runIds } }, { runId: 1, createdAt: 1 }).lean(),
    b.observer.modelCalls.countDocuments({ runId: { $in: runIds } }).exec(),
  ]);
  const accepted = new Map(runDocs.map((r) => [r._id, r.createdAt.getTime()]));
  const latencies = cps.flatMap((c) => {
    const t0 = accepted.get(c.runId);
    return t0 === undefined ? [] : [c.createdAt.getTime() - t0];
  });
  return {
    runsPerSecond,
    runIds,
    latenciesMs: latencies,
    requests,
    requestsPerRun,
    requestsPerRunWithNotify,
    moduleDataPerRun: moduleData / runs,
    rows: [
      {
        metric: 'Store requests per run: webhook → pending checkpoint',
        value: fmt(requestsPerRun),
        unit: `requests (budget ≤ ${WEBHOOK_BUDGET})`,
        notes: `${requests.total} requests for ${runs} card-dispute runs, first POST → last checkpoint, logs included; ${fmt(requestsPerRunWithNotify)} per run once the approver notifications are sent too; ${fmt(moduleData / runs)} per run are the tools reading the module's own data (not the store's collections). Per run: ${breakdown(requests, runs)}`,
      },
      {
        metric: 'End-to-end runs per second (webhook → pending checkpoint)',
        value: fmt(runsPerSecond),
        unit: 'runs/s',
        notes: `${runs} runs, ${inFlight} webhooks in flight, offline model at 0 ms; first POST → last checkpoint, ${fmt(wallSeconds)} s`,
      },
      {
        metric: 'Webhook → checkpoint latency p50',
        value: fmt(percentile(latencies, 50)),
        unit: 'ms',
        notes: 'run.createdAt → checkpoint.createdAt (stored); includes queueing behind the other runs',
      },
      {
        metric: 'Webhook → checkpoint latency p99',
        value: fmt(percentile(latencies, 99)),
        unit: 'ms',
        notes: `3 specialists in parallel, then the manager; ${fmt(modelCalls / runs)} model calls per run`,
      },
    ],
    charts: [histogram('Webhook → pending checkpoint latency (phase 1)', latencies, 'ms')],
  };
}
