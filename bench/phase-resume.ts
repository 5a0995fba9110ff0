import type { BenchApp } from './harness.js';
import { countRequests, drained, waitForCount } from './harness.js';
import { stepTimes } from './journal.js';
import { counter, note } from './progress.js';
import type { PhaseResult } from './report-types.js';
import { breakdown, type RequestSpan, sum } from './requests.js';
import { fmt, histogram, percentile } from './stats.js';

/** The budget for decision → completed, and its goals for decision → next step in store round trips. */
export const DECISION_BUDGET = 10;
export const RESUME_GOAL_RTT = { p50: 30, p99: 100 } as const;

export interface ResumeResult extends PhaseResult {
  requests: RequestSpan;
  requestsPerRun: number;
  requestsPerRunWithNotify: number;
  toStepMs: { p50: number; p99: number };
  rttMs: { p50: number; idleP50: number };
}

/**
 * One store round trip, over and over, while `sampling` is on: `findById` on a scratch collection with one document,
 * on the bench's own connection, paced so the probe itself adds little load. Its p50 is the unit the issue states
 * resume latency in, so the figure holds for another store whose round trip is faster or slower.
 */
function rttProbe(b: BenchApp) {
  const scratch = b.observer.connection.collection<{ _id: string }>('bench_rtt');
  const samples: number[] = [];
  let sampling = false;
  let stopped = false;
  const once = async () => {
    const t0 = process.hrtime.bigint();
    await scratch.findOne({ _id: 'probe' });
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const loop = (async () => {
    await scratch.insertOne({ _id: 'probe' });
    while (!stopped) {
      const ms = await once();
      if (sampling) samples.push(ms);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    /** Sequential round trips with nothing else going on, before any round. */
    async idle(n: number): Promise<number[]> {
      await new Promise((r) => setTimeout(r, 50));
      const out: number[] = [];
      for (let i = 0; i < n; i++) out.push(await once());
      return out;
    },
    set sampling(on: boolean) {
      sampling = on;
    },
    samples,
    async stop() {
      stopped = true;
      await loop;
      await scratch.drop();
    },
  };
}

/**
 * Phase 3: rounds of `atOnce` approvals sent together through the API (the "ten decisions arriving at
 * once"), each round from an idle app and until its runs complete. Measured from stored timestamps: the decision's
 * `decidedAt` → the first resumed step (`send-reply`) starting, and → the run's completion (`updatedAt` of the
 * completed run, which includes the reply email over SMTP and the outcome record). The app's store requests are
 * counted per round, decisions sent → runs completed, and again once the channels have been told.
 */
export async function measureResume(
  b: BenchApp,
  runIds: readonly string[],
  decisions: number,
  atOnce: number,
): Promise<ResumeResult> {
  const chosen = runIds.slice(0, decisions);
  const cps = await b.observer.checkpoints
    .find({ runId: { $in: chosen }, status: 'pending' }, { _id: 1, runId: 1 })
    .lean();
  if (cps.length !== chosen.length)
    throw new Error(`expected ${chosen.length} pending checkpoints, found ${cps.length}`);
  const probe = rttProbe(b);
  const rounds: { toCompleted: RequestSpan; withNotify: RequestSpan }[] = [];
  const progress = counter('runs decided and completed', cps.length);
  let idle: number[] = [];
  try {
    await drained(b);
    idle = await probe.idle(50);
    for (let i = 0; i < cps.length; i += atOnce) {
      const round = cps.slice(i, i + atOnce);
      const ids = round.map((c) => c.runId);
      const counted = await countRequests(b, async () => {
        probe.sampling = true;
        await Promise.all(round.map((cp) => b.approve(cp._id)));
        await waitForCount({
          count: () => b.observer.runs.countDocuments({ _id: { $in: ids }, status: 'completed' }).exec(),
          target: ids.length,
          timeoutMs: Math.max(120_000, ids.length * 3_000),
          intervalMs: 50,
          failed: () => b.observer.runs.countDocuments({ _id: { $in: ids }, status: 'failed' }).exec(),
        });
        probe.sampling = false;
      });
      rounds.push({ toCompleted: counted.run, withNotify: counted.withNotify });
      progress.update(i + round.length);
    }
  } finally {
    await probe.stop();
  }
  progress.end(`${cps.length} in ${rounds.length} rounds of ${atOnce} decisions sent at once`);

  const [decided, replies, runs] = await Promise.all([
    b.observer.checkpoints.find({ runId: { $in: chosen } }, { runId: 1, decision: 1 }).lean(),
    stepTimes(b, { runId: { $in: chosen }, stepId: 'send-reply' }),
    b.observer.runs.find({ _id: { $in: chosen } }, { updatedAt: 1 }).lean(),
  ]);
  const decidedAt = new Map(decided.map((c) => [c.runId, c.decision?.decidedAt.getTime() ?? Number.NaN]));
  const toStep = replies.map((s) => s.startedAt - (decidedAt.get(s.runId) ?? Number.NaN));
  const toDone = runs.map((r) => r.updatedAt.getTime() - (decidedAt.get(r._id) ?? Number.NaN));
  const rtt = percentile(probe.samples, 50);
  const idleRtt = percentile(idle, 50);
  const p50 = percentile(toStep, 50);
  const p99 = percentile(toStep, 99);
  const requests = sum(rounds.map((r) => r.toCompleted));
  const withNotify = sum(rounds.map((r) => r.withNotify));
  const requestsPerRun = requests.total / cps.length;
  note(`store round trip p50 ${fmt(idleRtt)} ms idle, ${fmt(rtt)} ms while decisions resumed`);
  return {
    requests,
    requestsPerRun,
    requestsPerRunWithNotify: withNotify.total / cps.length,
    toStepMs: { p50, p99 },
    rttMs: { p50: rtt, idleP50: idleRtt },
    rows: [
      {
        metric: 'Store requests per run: decision → completed',
        value: fmt(requestsPerRun),
        unit: `requests (budget ≤ ${DECISION_BUDGET})`,
        notes: `${requests.total} requests for ${cps.length} approvals, decision POSTs → runs completed; ${fmt(withNotify.total / cps.length)} per run once the channels are told too. Per run: ${breakdown(requests, cps.length)}`,
      },
      {
        metric: `Decision → next step started p50 / p99, ${atOnce} decisions at once`,
        value: `${fmt(p50)} / ${fmt(p99)}`,
        unit: 'ms',
        notes: `decision.decidedAt → send-reply step start (journal); ${rounds.length} rounds of ${atOnce} approvals via POST /api/checkpoints/:id/decision sent together, each round from an idle app`,
      },
      {
        metric: 'Decision → next step started p50 / p99, in store round trips',
        value: `${fmt(p50 / rtt)} / ${fmt(p99 / rtt)}`,
        unit: `round trips (goal ≤ ${RESUME_GOAL_RTT.p50} / ≤ ${RESUME_GOAL_RTT.p99})`,
        notes: `the line above ÷ the store round trip p50 measured during the rounds (${fmt(rtt)} ms)`,
      },
      {
        metric: 'Store round trip (findById) p50: idle / during the rounds',
        value: `${fmt(idleRtt)} / ${fmt(rtt)}`,
        unit: 'ms',
        notes: `findById on a one-document scratch collection, bench connection: ${idle.length} back to back before the rounds, then one every 20 ms while decisions were in flight (${probe.samples.length} samples)`,
      },
      {
        metric: 'Decision → run completed p50 / p99',
        value: `${fmt(percentile(toDone, 50))} / ${fmt(percentile(toDone, 99))}`,
        unit: 'ms',
        notes: 'to the completed run’s updatedAt: reply email over SMTP (local sink) and outcome recorded',
      },
    ],
    charts: [histogram(`Decision → send-reply started (phase 3, ${atOnce} at once)`, toStep, 'ms')],
  };
}
