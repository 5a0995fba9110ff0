import type { Redis } from 'ioredis';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { newReconcilerState, type ReconcilerState, reconcile } from '../src/engine/reconciler.js';
import { cloneWaitingRuns } from './clone-waiting.js';
import type { BenchApp } from './harness.js';
import { drained, pool } from './harness.js';
import { canForceGc, prefixMemory, processMemory, usedMemory } from './memory.js';
import { type IdleResult, measureIdle } from './phase-idle.js';
import { failedCount, pendingCount } from './phase-throughput.js';
import { counter, note } from './progress.js';
import type { PhaseResult, Row } from './report-types.js';
import { breakdown, mark, type RequestSpan, span } from './requests.js';
import { count, fmt } from './stats.js';
import { type StoreTimeReading, since } from './store-time.js';

const SAMPLES = Object.values(SAMPLE_DISPUTES);
const MB = 1024 * 1024;
const RECONCILE_CAP_MS = 600_000;

export interface WaitingOptions {
  target: number;
  inFlight: number;
  /** Phase 1's rate, for the ETA that decides between the webhook path and engine.startRun. */
  runsPerSecond: number;
  maxEtaSeconds: number;
  redis: Redis;
  /** INFO used_memory before the bench started anything. */
  usedMemoryAtStart: number;
  /** Total waiting runs to measure with, the ones beyond `target` copied from real ones (clone-waiting.ts). */
  cloneTo: number;
}

export interface WaitingResult extends PhaseResult {
  /** Idle store requests with every run waiting. */
  idle: IdleResult;
  /** Documents in `runs` and `steps` once the copies are in: the sizes the store's own costs are measured at. */
  sizes: { runs: number; steps: number };
  /** The forced reconcile pass; a lower bound when it hit the cap. */
  reconcileMs: number;
}

/** Approves one checkpoint and waits for its run to complete; null if it does not within a minute. */
async function resumesWhenDecided(b: BenchApp, checkpointId: string): Promise<number | null> {
  const cp = await b.observer.checkpoints.findById(checkpointId).lean();
  if (!cp) return null;
  const t0 = Date.now();
  await b.approve(checkpointId);
  while (Date.now() - t0 < 60_000) {
    const run = await b.observer.runs.findById(cp.runId).lean();
    if (run?.status === 'completed') return Date.now() - t0;
    if (run?.status === 'failed') return null;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
}

/** Until the app has had no store request in flight for a second (a reconcile round finishing after close). */
async function quiet(b: BenchApp): Promise<void> {
  const deadline = Date.now() + RECONCILE_CAP_MS;
  let since = Date.now();
  while (Date.now() - since < 1_000 && Date.now() < deadline) {
    if (b.storeTime.inFlight() > 0) since = Date.now();
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Pass {
  ms: number;
  finished: boolean;
  requests: RequestSpan;
  store: StoreTimeReading;
}

/** One reconcile round called directly, timed and counted; bounded so a store that scans cannot hold the bench. */
async function timedPass(b: BenchApp, state: ReconcilerState): Promise<Pass> {
  const from = mark(b.requests);
  const timeFrom = b.storeTime.read();
  const t0 = Date.now();
  const finished = await Promise.race([
    reconcile(b.app.deps, state).then(() => true),
    new Promise<false>((r) => setTimeout(() => r(false), RECONCILE_CAP_MS).unref()),
  ]);
  const ms = Date.now() - t0;
  if (!finished) note(`a reconcile pass was still running after ${RECONCILE_CAP_MS / 1000} s`);
  return { ms, finished, requests: span(b.requests, from), store: since(b.storeTime.read(), timeFrom) };
}

/** Jobs of every state in the app's queues; while runs only wait for people this should be ~0. */
async function jobCount(b: BenchApp): Promise<number> {
  const q = b.app.deps.queues;
  const counts = await Promise.all([q.runs, q.agents, q.notify].map((queue) => queue.getJobCounts()));
  return counts.reduce((sum, c) => sum + Object.values(c).reduce((a, n) => a + n, 0), 0);
}

/**
 * Phase 4: fill up to `target` waiting runs (real runs: agents ran, a checkpoint is pending), keeping a bounded
 * window of runs in progress so the counter moves steadily, then measure what waiting costs.
 */
export async function measureWaiting(b: BenchApp, o: WaitingOptions): Promise<WaitingResult> {
  const base = await pendingCount(b)();
  const toStart = Math.max(0, o.target - base);
  const eta = toStart / o.runsPerSecond;
  const direct = eta > o.maxEtaSeconds;
  const path = direct ? 'engine.startRun (ETA over --max-eta)' : 'signed webhooks';
  note(`${base} runs already wait; starting ${toStart} more via ${path}, ETA ≈ ${Math.round(eta)} s at phase 1's rate`);
  const before = await processMemory();
  const redisBefore = await prefixMemory(o.redis, b.app.deps.queues.prefix);
  const start = async (i: number): Promise<string> =>
    direct
      ? (
          await b.app.engine.startRun({
            workflow: 'card-dispute',
            input: SAMPLES[i % SAMPLES.length],
            source: { channel: 'api' },
          })
        ).runId
      : b.webhook(i);

  // Small enough that runs finish steadily (queues are FIFO: a big window finishes everything at the end).
  const window = Math.max(50, o.inFlight * 3);
  const progress = counter('waiting runs', o.target);
  const started = Date.now();
  let posted = 0;
  let reached = base;
  let lastMove = Date.now();
  let lastFailedCheck = 0;
  while (reached < o.target) {
    const now = await pendingCount(b)();
    if (now > reached) lastMove = Date.now();
    reached = now;
    progress.update(reached, `(${posted - (reached - base)} in progress)`);
    if (Date.now() - lastMove > 300_000) throw new Error(`no run reached its checkpoint for 300 s (at ${reached})`);
    if (Date.now() - lastFailedCheck > 5_000) {
      lastFailedCheck = Date.now();
      if ((await failedCount(b)()) > 0) throw new Error('runs failed while filling up (see the bench database)');
    }
    const batch = Math.min(window - (posted - (reached - base)), toStart - posted);
    if (batch >= o.inFlight || (batch > 0 && posted + batch === toStart)) {
      const from = posted;
      await pool(
        Array.from({ length: batch }, (_, k) => from + k),
        o.inFlight,
        start,
      );
      posted += batch;
    } else {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  const fillSeconds = (Date.now() - started) / 1000;
  progress.end(`${reached} waiting; ${toStart} added in ${fmt(fillSeconds)} s (${fmt(toStart / fillSeconds)} runs/s)`);
  const real = reached;
  const copies = Math.max(0, o.cloneTo - reached);
  // Counted before the copies, while the collections are small: a count over 100,000 documents scans on FerretDB.
  const [runsBefore, stepsBefore] = await Promise.all([
    b.observer.runs.countDocuments({}).exec(),
    b.observer.steps.countDocuments({}).exec(),
  ]);
  const clones = copies > 0 ? await cloneWaitingRuns(b, copies) : undefined;
  const cloned = clones?.checkpointIds ?? [];
  const sizes = { runs: runsBefore + (clones?.runs ?? 0), steps: stepsBefore + (clones?.steps ?? 0) };
  reached += cloned.length;

  // Notification jobs (approver emails) finish after the checkpoint exists; let the queues drain first.
  await drained(b);
  const jobs = await jobCount(b);
  const idle = await measureIdle(b, reached);
  // The copied run's check needs the workers; the reconciler's own passes and the store costs after them need the
  // store quiet, so the workers (and their interval reconciler) stop after it.
  const live = cloned[0] ? await resumesWhenDecided(b, cloned[0]) : undefined;
  note('stopping the workers, then timing reconcile passes on a quiet store');
  await b.workers.close();
  await quiet(b);
  const state = newReconcilerState();
  const first = await timedPass(b, state);
  const steady = await timedPass(b, state);
  const after = await processMemory();
  const redisAfter = await prefixMemory(o.redis, b.app.deps.queues.prefix);
  const usedAfter = await usedMemory(o.redis);
  const added = reached - base;
  const gcNote = canForceGc ? 'after a forced GC' : 'no forced GC available';
  const rows: Row[] = [
    {
      metric: 'Runs waiting at a pending checkpoint',
      value: count(reached),
      unit: 'runs',
      notes: `${real - base} added via ${path} at ${fmt(toStart / fillSeconds)} runs/s with ≤${window} in progress${cloned.length ? `, then ${cloned.length} copies of real waiting runs (see below)` : ''}`,
    },
    ...(live === undefined
      ? []
      : [
          {
            metric: 'A copied waiting run, decided, resumes and completes',
            value: live === null ? 'no' : fmt(live),
            unit: live === null ? '' : 'ms',
            notes: 'approve through the API → run completed (reply sent, outcome recorded): copies are live runs',
          },
        ]),
    {
      metric: 'BullMQ jobs in the app queues while they wait',
      value: String(jobs),
      unit: 'jobs',
      notes:
        'runs + agents + notify, every state (waiting, active, delayed, completed, failed); delayed checkpoint timers (reminders) count',
    },
    {
      metric: 'Process RSS with all runs waiting',
      value: fmt(after.rss / MB),
      unit: 'MB',
      notes: `${gcNote}; one process: HTTP + workers + offline model + SMTP sink; heap ${fmt(after.heapUsed / MB)} MB`,
    },
    {
      metric: 'RSS growth per added waiting run',
      value: fmt((after.rss - before.rss) / Math.max(1, added)),
      unit: 'bytes/run',
      notes: `RSS ${fmt(before.rss / MB)} → ${fmt(after.rss / MB)} MB, heap ${fmt(before.heapUsed / MB)} → ${fmt(after.heapUsed / MB)} MB (allocator noise, not state)`,
    },
    {
      metric: 'Redis memory of the bench prefix (MEMORY USAGE over SCAN)',
      value: fmt(redisAfter.bytes / 1024),
      unit: 'KiB',
      notes: `${redisAfter.keys} keys (was ${redisBefore.keys} keys, ${fmt(redisBefore.bytes / 1024)} KiB before filling); ${fmt((redisAfter.bytes - redisBefore.bytes) / Math.max(1, added))} bytes per added run`,
    },
    {
      metric: 'Redis INFO used_memory delta since the bench started',
      value: fmt((usedAfter - o.usedMemoryAtStart) / MB),
      unit: 'MB',
      notes: 'whole server, so other users of this Redis show up here too; the line above is the bench’s own',
    },
    ...[
      { pass: first, what: 'first pass (whole decision look-back and housekeeping, as at start)' },
      { pass: steady, what: 'next pass (steady state, what every interval costs)' },
    ].map(({ pass, what }) => ({
      metric: `Reconciler pass with ${count(reached)} waiting runs: ${what.split(' (')[0]}`,
      value: `${pass.finished ? '' : '> '}${fmt(pass.ms)}`,
      unit: 'ms',
      notes: `${what}; workers stopped, store quiet; every ${fmt(b.app.deps.settings.reconcileIntervalMs / 1000)} s on each worker process otherwise: ${pass.requests.total} requests${pass.requests.total ? ` (${breakdown(pass.requests, 1, 5)})` : ''}, ${count(pass.store.documents)} documents read, store busy ${fmt(pass.store.busyMs)} ms`,
    })),
  ];
  return { rows, charts: [], idle, sizes, reconcileMs: steady.ms };
}
