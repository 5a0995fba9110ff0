import { checkpointIdFor, newRunId, stepDocId } from '../src/engine/ids.js';
import type { CheckpointDoc, RunDoc, StepDoc } from '../src/store/models.js';
import type { BenchApp } from './harness.js';
import { counter } from './progress.js';

/**
 * Reaching 10,000 waiting runs through the agents takes hours on FerretDB's SQLite backend (about one run per
 * second), so the rest are copies of real waiting runs: the run, its journal and its pending checkpoint, under new
 * ids, exactly as the engine would have stored them. What is measured (memory, Redis, jobs, the reconciler) is the
 * cost of waiting, and a copy is as live as its original: deciding one resumes it (checked after the figures).
 */
export async function cloneWaitingRuns(b: BenchApp, count: number): Promise<string[]> {
  const store = b.app.store;
  const templates = await store.checkpoints.find({ status: 'pending' }).limit(200).lean<CheckpointDoc[]>();
  const candidates = await Promise.all(
    templates.map(async (cp) => ({ cp, run: await store.runs.findById(cp.runId).lean<RunDoc>() })),
  );
  // Only runs whose pass has ended: a copy of a run still `running` would be a run in flight, not a waiting one.
  const settled = candidates.filter((c) => c.run?.status === 'waiting').slice(0, 50);
  if (settled.length === 0) throw new Error('no waiting run to copy');
  const originals = await Promise.all(
    settled.map(async ({ cp, run }) => ({
      cp,
      run,
      steps: await store.steps.find({ runId: cp.runId }).lean<StepDoc[]>(),
    })),
  );
  const progress = counter('copied waiting runs', count);
  const checkpointIds: string[] = [];
  for (let done = 0; done < count; ) {
    const batch = Math.min(250, count - done);
    const runs: RunDoc[] = [];
    const steps: StepDoc[] = [];
    const checkpoints: CheckpointDoc[] = [];
    for (let k = 0; k < batch; k++) {
      const o = originals[(done + k) % originals.length];
      if (!o?.run) continue;
      const runId = newRunId(new Date());
      const cpId = checkpointIdFor(runId, o.cp.stepId);
      runs.push({ ...o.run, _id: runId, lease: null });
      for (const s of o.steps) {
        steps.push({ ...s, _id: stepDocId(runId, s.stepId), runId, ...(s.checkpointId ? { checkpointId: cpId } : {}) });
      }
      checkpoints.push({ ...o.cp, _id: cpId, runId });
      checkpointIds.push(cpId);
    }
    await store.runs.insertMany(runs, { lean: true });
    await store.steps.insertMany(steps, { lean: true });
    await store.checkpoints.insertMany(checkpoints, { lean: true });
    done += batch;
    progress.update(done);
  }
  progress.end(`${count} copies of ${originals.length} real waiting runs`);
  return checkpointIds;
}
