import { createOutcomeLog, type OutcomeLog } from '../../agents/disputes/outcomes.js';
import { createCountersign } from '../../compose.js';
import type { App } from '../../src/app.js';
import { parseEnv } from '../../src/config.js';
import type { Clock, EngineSettings } from '../../src/engine/deps.js';
import type { RunView } from '../../src/engine/types.js';
import type { RunningWorkers } from '../../src/engine/workers.js';
import { signWebhook } from '../../src/http/signature.js';
import type { UseCaseModule } from '../../src/modules/types.js';
import { ephemeralPort } from '../../src/services/net.js';
import { redisUrl, testMongoUri, uniquePrefix } from './env.js';
import { type SmtpCapture, startSmtpCapture } from './smtp-capture.js';

export const API_TOKEN = 'test-api-token-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
export const APPROVER = 'approver@example.com';

export interface TestAppOptions {
  label: string;
  env?: Record<string, string>;
  settings?: Partial<EngineSettings>;
  /** Start queue workers in this process (default true). Crash tests run them in child processes instead. */
  workers?: boolean;
  smtp?: SmtpCapture;
  /** Replaces the root's module list (compose.ts), e.g. `[...modules, myModule]` to run a module under test. */
  modules?: readonly UseCaseModule[];
  /** The engine's clock, for timers a test moves by hand (`fakeClock` in test/support/slack-app.ts). */
  clock?: Clock;
}

/** The app, plus the dispute outcome log the dispute tests read (the platform itself names no use case). */
export type TestAppHandle = App & { outcomes: OutcomeLog };

export interface TestApp {
  app: TestAppHandle;
  smtp: SmtpCapture;
  baseUrl: string;
  env: Record<string, string>;
  workers: RunningWorkers | undefined;
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  webhook(workflow: string, body: unknown, opts?: { key?: string; signature?: string }): Promise<Response>;
  waitForRun(runId: string, until: (run: RunView) => boolean, timeoutMs?: number): Promise<RunView>;
  close(): Promise<void>;
}

/**
 * The real app as the composition root builds it (store, queues, engine, HTTP, offline model, mailer, every
 * module in compose.ts) on its own database and queue prefix, with an SMTP capture server as the mail relay.
 */
export async function startTestApp(options: TestAppOptions): Promise<TestApp> {
  const smtp = options.smtp ?? (await startSmtpCapture());
  const port = await ephemeralPort();
  const env: Record<string, string> = {
    PORT: String(port),
    PUBLIC_URL: `http://127.0.0.1:${port}`,
    MONGODB_URI: testMongoUri(options.label),
    REDIS_URL: redisUrl(),
    COUNTERSIGN_QUEUE_PREFIX: uniquePrefix(options.label),
    APP_SECRET: 'test-app-secret-0123456789-0123456789-abcdef',
    COUNTERSIGN_API_TOKEN: API_TOKEN,
    WEBHOOK_SECRET,
    SMTP_URL: smtp.url,
    APPROVER_EMAILS: `${APPROVER},second@example.com`,
    OFFLINE_MODEL_LATENCY_MS: '0',
    LOG_LEVEL: 'silent',
    WORKER_LOCK_MS: '3000',
    RUN_LEASE_MS: '3000',
    RECONCILE_INTERVAL_MS: '1000',
    ...options.env,
  };
  const config = parseEnv(env);
  const built = await createCountersign({
    config,
    seedSampleData: true,
    settings: { reconcileGraceMs: 500, agentBackoffMs: 100, ...options.settings },
    ...(options.modules ? { modules: options.modules } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  const app: TestAppHandle = Object.assign(built, { outcomes: createOutcomeLog(built.store.connection) });
  await app.listen(port);
  const workers = options.workers === false ? undefined : app.startWorkers();
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    smtp,
    baseUrl,
    env,
    workers,
    api(path, init = {}) {
      return fetch(`${baseUrl}${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      });
    },
    webhook(workflow, body, opts = {}) {
      const raw = typeof body === 'string' ? body : JSON.stringify(body);
      return fetch(`${baseUrl}/webhooks/${workflow}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-countersign-signature': opts.signature ?? signWebhook(WEBHOOK_SECRET, raw),
          ...(opts.key ? { 'idempotency-key': opts.key } : {}),
        },
        body: raw,
      });
    },
    async waitForRun(runId, until, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      let last: RunView | null = null;
      while (Date.now() < deadline) {
        last = await app.engine.getRun(runId);
        if (last && until(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(
        `run ${runId} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last, null, 1)}`,
      );
    },
    async close() {
      await app.close();
      if (!options.smtp) await smtp.close();
    },
  };
}

export const hasPendingCheckpoint = (run: RunView) =>
  run.status === 'waiting' && run.checkpoints.some((c) => c.status === 'pending');
export const isFinished = (run: RunView) => run.status === 'completed' || run.status === 'failed';
