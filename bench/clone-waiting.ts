import type { mongo } from 'mongoose';
import { checkpointIdFor, newRunId } from '../src/engine/ids.js';
import type { BenchApp } from './harness.js';
import { counter } from './progress.js';

/** Runs copied per batch: one insertMany per collection per batch. */
const BATCH_RUNS = 250;

interface Template {
  runId: string;
  run: mongo.Document;
  steps: mongo.Document[];
  checkpoints: mongo.Document[];
}

/**
 * Every string in `value` with the template's ids replaced by the copy's: `_id`s (`<run>/<step>`, `<run>/#start`,
 * `<run>/#pass-<gen>`...), `runId`, `checkpointId`, and any other field that names the run or its checkpoints.
 * Dates, ObjectIds and other non-plain values are kept as they are. Generic on purpose: the journal layout changes
 * and the copy must not need to know it.
 */
function rewrite(value: unknown, ids: ReadonlyMap<string, string>): unknown {
  if (typeof value === 'string') {
    let s = value;
    for (const [from, to] of ids) if (s.includes(from)) s = s.replaceAll(from, to);
    return s;
  }
  if (Array.isArray(value)) return value.map((v) => rewrite(v, ids));
  if (value !== null && typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rewrite(v, ids)]));
  }
  return value;
}

/**
 * Reaching 10,000 waiting runs through the agents takes hours on FerretDB's SQLite backend, so the rest are copies
 * of real waiting runs: the run, every document of its journal (`steps`) and its checkpoints, under new ids, exactly
 * as the engine stored them. Raw driver reads and writes on the bench's own connection: no schema in between, and
 * nothing counted as the app's requests. What is measured (idle requests, memory, Redis, jobs, the reconciler) is
 * the cost of waiting, and a copy is as live as its original: deciding one resumes it (checked after the figures).
 */
export interface Cloned {
  /** The copies' pending checkpoints. */
  checkpointIds: string[];
  /** Documents inserted per collection. */
  runs: number;
  steps: number;
  checkpoints: number;
}

export async function cloneWaitingRuns(b: BenchApp, count: number): Promise<Cloned> {
  const db = b.observer.connection.db;
  if (!db) throw new Error('the bench connection has no database');
  const coll = (name: string): mongo.Collection<mongo.Document> => db.collection(name);
  const runs = coll(b.app.store.runs.collection.collectionName);
  const steps = coll(b.app.store.steps.collection.collectionName);
  const checkpoints = coll(b.app.store.checkpoints.collection.collectionName);

  const pending = await checkpoints.find({ status: 'pending' }).limit(200).toArray();
  const templates: Template[] = [];
  for (const cp of pending) {
    if (templates.length >= 50) break;
    const runId = String(cp.runId);
    if (templates.some((t) => t.runId === runId)) continue;
    const run = await runs.findOne({ _id: runId as never });
    // Only runs whose pass has ended: a copy of a run still `running` would be a run in flight, not a waiting one.
    if (run?.status !== 'waiting') continue;
    templates.push({
      runId,
      run,
      steps: await steps.find({ runId }).toArray(),
      checkpoints: await checkpoints.find({ runId }).toArray(),
    });
  }
  if (templates.length === 0) throw new Error('no waiting run to copy');

  const progress = counter('copied waiting runs', count);
  const pendingIds: string[] = [];
  const inserted = { runs: 0, steps: 0, checkpoints: 0 };
  for (let done = 0; done < count; ) {
    const batch = Math.min(BATCH_RUNS, count - done);
    const out = { runs: [] as mongo.Document[], steps: [] as mongo.Document[], checkpoints: [] as mongo.Document[] };
    for (let k = 0; k < batch; k++) {
      const t = templates[(done + k) % templates.length] as Template;
      const runId = newRunId(new Date());
      // Checkpoint ids are derived from run and step (a replayed pass finds the same one), so derive them again.
      const ids = new Map<string, string>([[t.runId, runId]]);
      for (const cp of t.checkpoints) ids.set(String(cp._id), checkpointIdFor(runId, String(cp.stepId)));
      out.runs.push(rewrite(t.run, ids) as mongo.Document);
      for (const s of t.steps) out.steps.push(rewrite(s, ids) as mongo.Document);
      for (const cp of t.checkpoints) {
        const copy = rewrite(cp, ids) as mongo.Document;
        out.checkpoints.push(copy);
        if (cp.status === 'pending') pendingIds.push(String(copy._id));
      }
    }
    await runs.insertMany(out.runs, { ordered: false });
    if (out.steps.length) await steps.insertMany(out.steps, { ordered: false });
    if (out.checkpoints.length) await checkpoints.insertMany(out.checkpoints, { ordered: false });
    inserted.runs += out.runs.length;
    inserted.steps += out.steps.length;
    inserted.checkpoints += out.checkpoints.length;
    done += batch;
    progress.update(done, `(${inserted.steps} steps documents)`);
  }
  progress.end(
    `${count} copies of ${templates.length} real waiting runs: ${inserted.runs} runs, ${inserted.steps} steps, ${inserted.checkpoints} checkpoints documents`,
  );
  return { checkpointIds: pendingIds, ...inserted };
}
