import type { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { openStore, type Store } from '../src/store/models.js';
import { logStoreRequests, type StoreRequestLog } from '../src/store/request-log.js';
import { APPROVER, startTestApp, type TestApp } from './support/app.js';

/**
 * Store requests per run, counted by the driver's command monitoring: the figures that hold on MongoDB as on the
 * embedded store, unlike times. The app runs with the lease and concurrency users get; the reconciler is held off
 * (its requests are idle cost, measured by `npm run bench`), and the test watches the store through a connection of
 * its own, so only the run's own requests are counted. The checkpoint carries the CHECKPOINT_* reminders and timeout:
 * they ride on its insert and a delayed Redis job, and add no request to either phase (22–23 and 10 both ways).
 */
const WEBHOOK_TO_CHECKPOINT = 25;
const DECISION_TO_COMPLETED = 10;

let t: TestApp;
let watch: Store;
let log: StoreRequestLog;

beforeAll(async () => {
  t = await startTestApp({
    label: 'budget',
    env: { RUN_LEASE_MS: '30000', WORKER_LOCK_MS: '30000', RECONCILE_INTERVAL_MS: '3600000' },
    settings: { reconcileGraceMs: 10_000, agentBackoffMs: 1_000 },
  });
  watch = await openStore(t.env.MONGODB_URI ?? '');
  log = logStoreRequests(t.app.store.connection.getClient());
});
afterAll(async () => {
  log?.stop();
  await watch?.close();
  await t?.close();
});

async function until<T>(probe: () => Promise<T | null | undefined>, what: string): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Creating collections and indexes happens once per process, not per run. */
const SCHEMA_COMMANDS = new Set(['create', 'createIndexes', 'listIndexes', 'listCollections']);
const runRequests = () => log.requests().filter((r) => !SCHEMA_COMMANDS.has(r.command));

function breakdown(): string {
  const counts = new Map<string, number>();
  for (const r of runRequests())
    counts.set(`${r.collection}.${r.command}`, (counts.get(`${r.collection}.${r.command}`) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
}

/**
 * Work still to do: jobs waiting or active, and delayed ones due within a few seconds (a busy pass's bounce, a retry).
 * A pending checkpoint's timer job is due hours away (the first reminder) and stays queued after the decision: it is
 * not work of this phase.
 */
async function busy(queue: Queue): Promise<boolean> {
  const counts = await queue.getJobCounts('waiting', 'active', 'prioritized');
  if (Object.values(counts).some((n) => n > 0)) return true;
  const [next] = await queue.getJobs(['delayed'], 0, 0, true);
  return next !== undefined && next.timestamp + (next.delay ?? 0) < Date.now() + 5_000;
}

/** Lets the notifications and any pass still ending settle, so their requests land in the phase that caused them. */
async function settle(withNotify = true) {
  const queues = t.app.deps.queues;
  await until(async () => {
    const queued = await Promise.all(
      [queues.runs, queues.agents, ...(withNotify ? [queues.notify] : [])].map((q) => busy(q)),
    );
    return queued.every((b) => !b) && t.app.deps.inflight.size === 0;
  }, 'the queues to drain');
}

async function decideByApi(checkpointId: string) {
  const decided = await fetch(`${t.baseUrl}/api/checkpoints/${checkpointId}/decision`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.env.COUNTERSIGN_API_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ decision: 'approve', actor: APPROVER }),
  });
  expect(decided.status).toBe(200);
}

/**
 * Counts the requests of `work` with the notification channels held back, then those the channels make once let
 * go: what they do follows the checkpoint (or the decision) and is the channels' cost, not the run's.
 */
async function phase(work: () => Promise<void>) {
  await t.app.deps.queues.notify.pause();
  log.reset();
  await work();
  await settle(false);
  const count = runRequests().length;
  const detail = breakdown();
  log.reset();
  await t.app.deps.queues.notify.resume();
  await settle();
  return { count, detail, channels: breakdown() };
}

describe('store requests per card-dispute run', () => {
  it(`webhook → pending checkpoint ≤ ${WEBHOOK_TO_CHECKPOINT}, decision → completed ≤ ${DECISION_TO_COMPLETED}`, async () => {
    await t.workers?.reconcileNow();
    // A first run warms up what happens once per process (collections, indexes, the reconciler's first round).
    const warm = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail: 'warm@example.com' });
    const warmRun = ((await warm.json()) as { runId: string }).runId;
    const warmCp = await until(
      () => watch.checkpoints.findOne({ runId: warmRun, status: 'pending' }).lean(),
      'warm-up',
    );
    await decideByApi(warmCp._id);
    await until(async () => (await watch.runs.findById(warmRun).lean())?.status === 'completed', 'warm-up');
    await settle();
    let runId = '';
    let checkpointId = '';
    const toCheckpoint = await phase(async () => {
      const res = await t.webhook('card-dispute', {
        ...SAMPLE_DISPUTES.needsReview,
        customerEmail: 'budget@example.com',
      });
      runId = ((await res.json()) as { runId: string }).runId;
      const cp = await until(() => watch.checkpoints.findOne({ runId, status: 'pending' }).lean(), 'the checkpoint');
      checkpointId = cp._id;
      await until(async () => (await watch.runs.findById(runId).lean())?.status === 'waiting', 'the run to wait');
    });
    const toCompleted = await phase(async () => {
      await decideByApi(checkpointId);
      await until(async () => (await watch.runs.findById(runId).lean())?.status === 'completed', 'completion');
    });
    const [toCheckpointDetail, notifyCreated] = [toCheckpoint.detail, toCheckpoint.channels];
    const [toCompletedDetail, notifyDecided] = [toCompleted.detail, toCompleted.channels];

    process.stdout.write(
      `store requests: webhook → checkpoint ${toCheckpoint.count} (${toCheckpointDetail})\n` +
        `  then the channels telling approvers: ${notifyCreated}\n` +
        `store requests: decision → completed ${toCompleted.count} (${toCompletedDetail})\n` +
        `  then the channels bringing their messages in line: ${notifyDecided}\n`,
    );
    expect(toCheckpoint.count, toCheckpointDetail).toBeLessThanOrEqual(WEBHOOK_TO_CHECKPOINT);
    expect(toCompleted.count, toCompletedDetail).toBeLessThanOrEqual(DECISION_TO_COMPLETED);
  });
});
