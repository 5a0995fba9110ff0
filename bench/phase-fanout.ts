import type { BenchApp } from './harness.js';
import { waitForCount } from './harness.js';
import { stepTimes } from './journal.js';
import { failedCount, pendingCount } from './phase-throughput.js';
import { note } from './progress.js';
import type { PhaseResult } from './report-types.js';
import { fmt, median } from './stats.js';

const SPECIALISTS = ['evidence-collector', 'account-risk', 'language-analyst'];

/**
 * Phase 2: with the offline model slowed down, how close the parallel stage comes to its slowest specialist.
 * Runs go one at a time so that the ratio shows fan-out inside a run, not contention for worker slots between
 * runs (5 runs × 3 agents would exceed the default 8 agent slots). Read from the journal, not wall clocks.
 */
export async function measureFanout(b: BenchApp, runs: number, latencyMs: number): Promise<PhaseResult> {
  const model = b.app.offlineModel;
  if (!model) throw new Error('the bench needs the offline model');
  model.setLatency(latencyMs);
  const ratios: number[] = [];
  const stages: number[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const before = await pendingCount(b)();
      const runId = await b.webhook(i);
      await waitForCount({
        count: pendingCount(b),
        target: before + 1,
        timeoutMs: 60_000,
        failed: failedCount(b),
      });
      const steps = await stepTimes(b, { runId, stepId: { $in: SPECIALISTS } });
      if (steps.length !== SPECIALISTS.length) throw new Error(`run ${runId} has ${steps.length} specialist steps`);
      const starts = steps.map((s) => s.startedAt);
      const ends = steps.map((s) => s.finishedAt);
      const slowest = Math.max(...steps.map((s) => s.finishedAt - s.startedAt));
      const stage = Math.max(...ends) - Math.min(...starts);
      ratios.push(stage / slowest);
      stages.push(stage);
      note(
        `run ${i + 1}/${runs}: parallel stage ${fmt(stage)} ms, slowest specialist ${fmt(slowest)} ms, ratio ${fmt(stage / slowest)}`,
      );
    }
  } finally {
    model.setLatency(0);
  }
  return {
    rows: [
      {
        metric: 'Fan-out ratio (parallel stage ÷ slowest specialist), median',
        value: fmt(median(ratios)),
        unit: '×',
        notes: `ideal 1.0 (3.0 = serial); ${runs} runs one at a time, model at ${latencyMs} ms, 2 turns per specialist; worst ${fmt(Math.max(...ratios))}`,
      },
      {
        metric: 'Parallel stage wall time, median',
        value: fmt(median(stages)),
        unit: 'ms',
        notes: 'min startedAt → max finishedAt of the three specialist steps (journal)',
      },
    ],
    charts: [],
  };
}
