import type { BenchApp } from './harness.js';
import { pool, waitForCount } from './harness.js';
import { counter } from './progress.js';
import type { PhaseResult } from './report-types.js';
import { fmt, histogram, percentile } from './stats.js';

/**
 * Phase 3: approve M waiting runs through the API and measure, from stored timestamps, the decision's
 * `decidedAt` → the first resumed step (`send-reply`) `startedAt`, and → the run's completion (`updatedAt` of
 * the completed run, which includes the reply email over SMTP and the outcome record).
 */
export async function measureResume(
  b: BenchApp,
  runIds: readonly string[],
  decisions: number,
  inFlight: number,
): Promise<PhaseResult> {
  const chosen = runIds.slice(0, decisions);
  const cps = await b.app.store.checkpoints.find({ runId: { $in: chosen }, status: 'pending' }, { _id: 1 }).lean();
  if (cps.length !== chosen.length)
    throw new Error(`expected ${chosen.length} pending checkpoints, found ${cps.length}`);
  const completedBefore = await b.app.store.runs.countDocuments({ status: 'completed' }).exec();
  const sent = counter('decisions answered 200', cps.length);
  await pool(
    cps,
    inFlight,
    (cp) => b.approve(cp._id),
    (n) => sent.update(n),
  );
  sent.end(`${cps.length} approved`);
  const resumed = counter('runs completed', cps.length);
  await waitForCount({
    count: async () => (await b.app.store.runs.countDocuments({ status: 'completed' }).exec()) - completedBefore,
    target: cps.length,
    timeoutMs: Math.max(120_000, cps.length * 3_000),
    failed: () => b.app.store.runs.countDocuments({ status: 'failed' }).exec(),
    onProgress: (n) => resumed.update(n),
  });
  resumed.end('all resumed and completed');

  const [decided, replies, runs] = await Promise.all([
    b.app.store.checkpoints.find({ runId: { $in: chosen } }, { runId: 1, decision: 1 }).lean(),
    b.app.store.steps.find({ runId: { $in: chosen }, stepId: 'send-reply' }, { runId: 1, startedAt: 1 }).lean(),
    b.app.store.runs.find({ _id: { $in: chosen } }, { updatedAt: 1 }).lean(),
  ]);
  const decidedAt = new Map(decided.map((c) => [c.runId, c.decision?.decidedAt.getTime() ?? Number.NaN]));
  const toStep = replies.map((s) => (s.startedAt?.getTime() ?? Number.NaN) - (decidedAt.get(s.runId) ?? Number.NaN));
  const toDone = runs.map((r) => r.updatedAt.getTime() - (decidedAt.get(r._id) ?? Number.NaN));
  return {
    rows: [
      {
        metric: 'Decision → resume (send-reply started) p50',
        value: fmt(percentile(toStep, 50)),
        unit: 'ms',
        notes: `decision.decidedAt → send-reply step startedAt (journal); ${cps.length} approvals via POST /api/checkpoints/:id/decision, ${inFlight} in flight`,
      },
      {
        metric: 'Decision → resume (send-reply started) p99',
        value: fmt(percentile(toStep, 99)),
        unit: 'ms',
        notes: 'one run pass: lease, replay the journal, complete the checkpoint step, start the email step',
      },
      {
        metric: 'Decision → run completed p50 / p99',
        value: `${fmt(percentile(toDone, 50))} / ${fmt(percentile(toDone, 99))}`,
        unit: 'ms',
        notes: 'to the completed run’s updatedAt: reply email over SMTP (local sink) and outcome recorded',
      },
    ],
    charts: [histogram('Decision → send-reply started (phase 3)', toStep, 'ms')],
  };
}
