import type { Redis } from 'ioredis';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { cloneWaitingRuns } from './clone-waiting.js';
import type { BenchApp } from './harness.js';
import { pool } from './harness.js';
import { canForceGc, prefixMemory, processMemory, usedMemory } from './memory.js';
import { failedCount, pendingCount } from './phase-throughput.js';
import { counter, note } from './progress.js';
import type { PhaseResult, Row } from './report-types.js';
import { fmt } from './stats.js';

const SAMPLES = Object.values(SAMPLE_DISPUTES);
const MB = 1024 * 1024;

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

/** Approves one checkpoint and waits for its run to complete; null if it does not within a minute. */
async function resumesWhenDecided(b: BenchApp, checkpointId: string): Promise<number | null> {
  const cp = await b.app.store.checkpoints.findById(checkpointId).lean();
  if (!cp) return null;
  const t0 = Date.now();
  await b.approve(checkpointId);
  while (Date.now() - t0 < 60_000) {
    const run = await b.app.store.runs.findById(cp.runId).lean();
    if (run?.status === 'completed') return Date.now() - t0;
    if (run?.status === 'failed') return null;
    await new Promise((r) => setTimeout(r, 100));
  }
  return null;
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
export async function measureWaiting(b: BenchApp, o: WaitingOptions): Promise<PhaseResult> {
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
  const cloned = copies > 0 ? await cloneWaitingRuns(b, copies) : [];
  reached += cloned.length;

  // Notification jobs (approver emails) finish after the checkpoint exists; let the queues drain first.
  const drainDeadline = Date.now() + 120_000;
  let jobs = await jobCount(b);
  while (jobs > 0 && Date.now() < drainDeadline) {
    await new Promise((r) => setTimeout(r, 500));
    jobs = await jobCount(b);
  }
  const t0 = Date.now();
  await b.workers.reconcileNow();
  const reconcileMs = Date.now() - t0;
  const after = await processMemory();
  const redisAfter = await prefixMemory(o.redis, b.app.deps.queues.prefix);
  const usedAfter = await usedMemory(o.redis);
  const added = reached - base;
  const live = cloned[0] ? await resumesWhenDecided(b, cloned[0]) : undefined;
  const gcNote = canForceGc ? 'after a forced GC' : 'no forced GC available';
  const rows: Row[] = [
    {
      metric: 'Runs waiting at a pending checkpoint',
      value: fmt(reached),
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
      notes: 'runs + agents + notify, every state (waiting, active, delayed, completed, failed)',
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
    {
      metric: `Reconciler pass with ${fmt(reached)} waiting runs`,
      value: fmt(reconcileMs),
      unit: 'ms',
      notes: 'it reads every waiting checkpoint step each interval (30 s default): the one per-waiting-run cost',
    },
  ];
  return { rows, charts: [] };
}
