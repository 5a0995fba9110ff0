import { randomBytes } from 'node:crypto';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { createCountersign } from '../compose.js';
import type { App } from '../src/app.js';
import { parseEnv } from '../src/config.js';
import type { RunningWorkers } from '../src/engine/workers.js';
import { signWebhook } from '../src/http/signature.js';
import { ephemeralPort } from '../src/services/net.js';
import type { BenchNames } from './services.js';

/** The real app as `serve` + `worker` build it, in this process, on the bench's own database and prefix. */
export interface BenchApp {
  app: App;
  workers: RunningWorkers;
  baseUrl: string;
  /** POSTs a signed card-dispute webhook; resolves with the run id once the app answered 202. */
  webhook(sample: number): Promise<string>;
  /** POSTs an approval through the API, as a reviewer's client would. */
  approve(checkpointId: string): Promise<void>;
  close(): Promise<void>;
}

const SAMPLES = Object.values(SAMPLE_DISPUTES);

export async function startBenchApp(opts: {
  names: BenchNames;
  redisUrl: string;
  smtpUrl: string;
  workerConcurrency: number;
  slack: { botToken: string; signingSecret: string; apiUrl: string };
}): Promise<BenchApp> {
  // Fresh random secrets per bench: nothing here is meant to be reused.
  const webhookSecret = randomBytes(24).toString('hex');
  const apiToken = randomBytes(24).toString('hex');
  const port = await ephemeralPort();
  const config = parseEnv({
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
    WORKER_CONCURRENCY: String(opts.workerConcurrency),
    LOG_LEVEL: 'silent',
    // Slack through the Web API stand-in, so the acknowledgement bench clicks a real Bolt endpoint.
    SLACK_BOT_TOKEN: opts.slack.botToken,
    SLACK_SIGNING_SECRET: opts.slack.signingSecret,
    SLACK_API_URL: opts.slack.apiUrl,
    SLACK_APPROVALS_CHANNEL: 'CBENCH',
  });
  const app = await createCountersign({ config, seedSampleData: true });
  await app.listen(port);
  const workers = app.startWorkers();
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    app,
    workers,
    baseUrl,
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
    close: () => app.close(),
  };
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
