import { randomBytes } from 'node:crypto';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { createCountersign } from '../compose.js';
import type { App } from '../src/app.js';
import { type Config, parseEnv } from '../src/config.js';
import type { RunningWorkers } from '../src/engine/workers.js';
import { signWebhook } from '../src/http/signature.js';
import { ephemeralPort } from '../src/services/net.js';
import { openStore, type Store } from '../src/store/models.js';
import { logStoreRequests, type StoreRequestLog } from '../src/store/request-log.js';
import { mark, type RequestSpan, span } from './requests.js';
import type { BenchNames } from './services.js';
import { meterStoreTime, type StoreTimeMeter } from './store-time.js';

/** The real app as `serve` + `worker` build it, in this process, on the bench's own database and prefix. */
export interface BenchApp {
  app: App;
  workers: RunningWorkers;
  baseUrl: string;
  /**
   * The bench's own connection to the same database, for its polls, probes and copies: requests on it are not the
   * app's, so `requests` counts only what the app sends.
   */
  observer: Store;
  /** Every request the app's store client sends (command monitoring). */
  requests: StoreRequestLog;
  /** How long those requests kept the store busy and how many documents they read. */
  storeTime: StoreTimeMeter;
  /** POSTs a signed card-dispute webhook; resolves with the run id once the app answered 202. */
  webhook(sample: number): Promise<string>;
  /** POSTs an approval through the API, as a reviewer's client would. */
  approve(checkpointId: string): Promise<void>;
  close(): Promise<void>;
}

const SAMPLES = Object.values(SAMPLE_DISPUTES);

/** The knobs users get defaults for and the issue asks the bench to leave alone. */
const PRODUCTION_KNOBS = ['RUN_LEASE_MS', 'RECONCILE_INTERVAL_MS', 'WORKER_CONCURRENCY'] as const;

export interface BenchConfig {
  config: Config;
  port: number;
  webhookSecret: string;
  apiToken: string;
  /** Which of PRODUCTION_KNOBS the bench set (only WORKER_CONCURRENCY, and only on `--worker-concurrency`). */
  overrides: string[];
}

/** The app's configuration, built before the app so the ceiling can use the same worker concurrency. */
export async function benchConfig(opts: {
  names: BenchNames;
  redisUrl: string;
  smtpUrl: string;
  workerConcurrency: number | undefined;
  slack: { botToken: string; signingSecret: string; apiUrl: string };
}): Promise<BenchConfig> {
  // Fresh random secrets per bench: nothing here is meant to be reused.
  const webhookSecret = randomBytes(24).toString('hex');
  const apiToken = randomBytes(24).toString('hex');
  const port = await ephemeralPort();
  const env: Record<string, string> = {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MONGODB_URI: opts.names.mongoUri,
    REDIS_URL: opts.redisUrl,
    COUNTERSIGN_QUEUE_PREFIX: opts.names.appPrefix,
    APP_SECRET: randomBytes(32).toString('hex'),
    COUNTERSIGN_API_TOKEN: apiToken,
    WEBHOOK_SECRET: webhookSecret,
    SMTP_URL: opts.smtpUrl,
    APPROVER_EMAILS: 'approver@example.com',
    // `manual`: every dispute stops at the checkpoint, which is what phases 1, 3 and 4 count.
    AUTONOMY: 'manual',
    OFFLINE_MODEL_LATENCY_MS: '0',
    LOG_LEVEL: 'silent',
    // Slack through the Web API stand-in, so the acknowledgement bench clicks a real Bolt endpoint.
    SLACK_BOT_TOKEN: opts.slack.botToken,
    SLACK_SIGNING_SECRET: opts.slack.signingSecret,
    SLACK_API_URL: opts.slack.apiUrl,
    SLACK_APPROVALS_CHANNEL: 'CBENCH',
  };
  // RUN_LEASE_MS and RECONCILE_INTERVAL_MS are never set: the issue asks for the figures users would get.
  if (opts.workerConcurrency !== undefined) env.WORKER_CONCURRENCY = String(opts.workerConcurrency);
  const overrides = PRODUCTION_KNOBS.filter((k) => k in env);
  return { config: parseEnv(env), port, webhookSecret, apiToken, overrides };
}

export async function startBenchApp(c: BenchConfig): Promise<BenchApp> {
  const { config, port, webhookSecret, apiToken } = c;
  const app = await createCountersign({ config, seedSampleData: true });
  const requests = logStoreRequests(app.store.connection.getClient());
  const storeTime = meterStoreTime(app.store.connection.getClient());
  const observer = await openStore(config.mongodbUri);
  await app.listen(port);
  const workers = app.startWorkers();
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    app,
    workers,
    baseUrl,
    observer,
    requests,
    storeTime,
    async webhook(sample) {
      const raw = JSON.stringify(SAMPLES[sample % SAMPLES.length]);
      const res = await fetch(`${baseUrl}/webhooks/card-dispute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-countersign-signature': signWebhook(webhookSecret, raw) },
        body: raw,
      });
      const body = (await res.json()) as { runId?: string };
      if (res.status !== 202 || !body.runId) throw new Error(`webhook answered ${res.status}: ${JSON.stringify(body)}`);
      return body.runId;
    },
    async approve(checkpointId) {
      const res = await fetch(`${baseUrl}/api/checkpoints/${checkpointId}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${apiToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve', actor: 'bench@example.com' }),
      });
      if (res.status !== 200) throw new Error(`decision answered ${res.status}: ${await res.text()}`);
    },
    async close() {
      requests.stop();
      storeTime.stop();
      await observer.close();
      await app.close();
    },
  };
}

/**
 * Work the app still has to do now: in-process resumes, active, waiting and prioritised jobs, and delayed ones due
 * within a few seconds (a busy-pass bounce). Timer jobs hours away (reminders) do not count: a waiting run has one.
 */
async function pendingJobs(b: BenchApp, withNotify = true): Promise<number> {
  const q = b.app.deps.queues;
  // Work the app does in the process that took a request (a decision resuming its run at once), outside any queue.
  let n = b.app.deps.inflight.size;
  for (const queue of withNotify ? [q.runs, q.agents, q.notify] : [q.runs, q.agents]) {
    const c = await queue.getJobCounts('active', 'wait', 'prioritized', 'waiting-children');
    n += Object.values(c).reduce((a, k) => a + k, 0);
    const [next] = await queue.getJobs(['delayed'], 0, 0, true);
    if (next && next.timestamp + (next.delay ?? 0) < Date.now() + 5_000) n++;
  }
  return n;
}

/** Waits until the app has nothing left to do (pendingJobs is 0), so a counting window starts from idle. */
export async function drained(b: BenchApp, timeoutMs = 180_000, withNotify = true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // Twice in a row: between one job ending and the one it enqueues being seen, a queue can look empty.
  let zeros = 0;
  for (;;) {
    const n = await pendingJobs(b, withNotify);
    zeros = n === 0 ? zeros + 1 : 0;
    if (zeros >= 2) return;
    if (n > 0 && Date.now() > deadline) throw new Error(`the app still had ${n} job(s) to do after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Counts the app's store requests for `work`, with the notification channels held back until the run's own work
 * is done: `run` is what the runs cost, `withNotify` adds what the channels then do (cards, approval emails).
 */
export async function countRequests(
  b: BenchApp,
  work: () => Promise<void>,
): Promise<{ run: RequestSpan; withNotify: RequestSpan }> {
  await drained(b);
  await b.app.deps.queues.notify.pause();
  const from = mark(b.requests);
  try {
    await work();
    await drained(b, 180_000, false);
  } finally {
    await b.app.deps.queues.notify.resume();
  }
  const runEnd = mark(b.requests);
  // The channels catch up afterwards: Slack cards go out at one per second per channel, so allow for the backlog.
  await drained(b, 900_000);
  return { run: span(b.requests, from, runEnd), withNotify: span(b.requests, from) };
}

/** Runs `task` over `items` with at most `limit` in flight; `onDone` sees the running count. */
export async function pool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
  onDone?: (done: number) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let done = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await task(items[i] as T, i);
      onDone?.(++done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Polls `count` until it reaches `target`, showing progress; fails fast when `failed` reports broken runs. */
export async function waitForCount(opts: {
  count: () => Promise<number>;
  target: number;
  timeoutMs: number;
  intervalMs?: number;
  failed?: () => Promise<number>;
  onProgress?: (n: number) => void;
}): Promise<number> {
  const deadline = Date.now() + opts.timeoutMs;
  let polls = 0;
  for (;;) {
    const n = await opts.count();
    opts.onProgress?.(n);
    if (n >= opts.target) return Date.now();
    if (opts.failed && polls++ % 10 === 0) {
      const bad = await opts.failed();
      if (bad > 0) throw new Error(`${bad} run(s) failed while the bench waited (see the bench database)`);
    }
    if (Date.now() > deadline) throw new Error(`timed out at ${n}/${opts.target} after ${opts.timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}

/** Collections of the app's store models (runs, steps, checkpoints, logs...), as opposed to modules' own data. */
export function storeCollections(b: BenchApp): Set<string> {
  const names = new Set<string>();
  for (const value of Object.values(b.app.store)) {
    const name = (value as { collection?: { collectionName?: unknown } } | null)?.collection?.collectionName;
    if (typeof name === 'string') names.add(name);
  }
  return names;
}
