import { SAMPLE_DISPUTES } from '../../agents/disputes/samples.js';
import { createCountersign } from '../../compose.js';
import type { App } from '../../src/app.js';
import { parseEnv } from '../../src/config.js';
import type { Clock } from '../../src/engine/deps.js';
import type { RunView } from '../../src/engine/types.js';
import type { RunningWorkers } from '../../src/engine/workers.js';
import { signWebhook } from '../../src/http/signature.js';
import type { UseCaseModule } from '../../src/modules/types.js';
import { ephemeralPort } from '../../src/services/net.js';
import type { CheckpointDoc } from '../../src/store/models.js';
import { API_TOKEN, hasPendingCheckpoint, isFinished, WEBHOOK_SECRET } from './app.js';
import { redisUrl, testMongoUri, uniquePrefix } from './env.js';
import { slackHeaders } from './slack-sign.js';
import { BOT_TOKEN, type SlackStandin, startSlackStandin } from './slack-standin.js';
import { type SmtpCapture, startSmtpCapture } from './smtp-capture.js';

export const SIGNING_SECRET = 'test-signing-secret-0123456789abcdef';
export const APPROVALS = 'CAPPROVALS';
/** The people of the test workspace: two default approvers by email, a member of the approvals channel, an outsider. */
export const PEOPLE = {
  alice: { id: 'UALICE', email: 'approver@example.com', name: 'Alice Approver' },
  bob: { id: 'UBOB', email: 'second@example.com', name: 'Bob Second' },
  carol: { id: 'UCAROL', email: 'carol@example.com', name: 'Carol Channel' },
  mallory: { id: 'UMALLORY', email: 'mallory@example.com', name: 'Mallory Outsider' },
  manager: { id: 'UMANAGER', email: 'manager@example.com', name: 'Maria Manager' },
} as const;

/** A clock tests move by hand; the app reads it for timers, the system clock stays for everything else. */
export function fakeClock(): Clock & { advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms) => {
      offset += ms;
    },
  };
}

/**
 * The environment of an app wired to the Slack stand-in over signed HTTP, with test timings (3 s lease, 1 s
 * reconciler); Socket Mode tests drop the signing secret and add SLACK_APP_TOKEN.
 */
export function slackAppEnv(o: { label: string; port: number; smtpUrl: string; slackUrl: string }) {
  return {
    PORT: String(o.port),
    PUBLIC_URL: `http://127.0.0.1:${o.port}`,
    MONGODB_URI: testMongoUri(o.label),
    REDIS_URL: redisUrl(),
    COUNTERSIGN_QUEUE_PREFIX: uniquePrefix(o.label),
    APP_SECRET: 'test-app-secret-0123456789-0123456789-abcdef',
    COUNTERSIGN_API_TOKEN: API_TOKEN,
    SMTP_URL: o.smtpUrl,
    APPROVER_EMAILS: `${PEOPLE.alice.email},${PEOPLE.bob.email}`,
    OFFLINE_MODEL_LATENCY_MS: '0',
    LOG_LEVEL: 'silent',
    WORKER_LOCK_MS: '3000',
    RUN_LEASE_MS: '3000',
    RECONCILE_INTERVAL_MS: '1000',
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: o.slackUrl,
    SLACK_APPROVALS_CHANNEL: APPROVALS,
  };
}

export interface SlackTestApp {
  app: App;
  slack: SlackStandin;
  smtp: SmtpCapture;
  baseUrl: string;
  workers: RunningWorkers | undefined;
  /** POSTs a raw body to /slack/events, signed like Slack unless told otherwise. */
  post(
    body: string,
    contentType: string,
    o?: { timestamp?: number; signature?: string | null; retryNum?: number; alter?: (b: string) => string },
  ): Promise<Response>;
  event(payload: object, o?: { retryNum?: number }): Promise<Response>;
  interact(payload: object): Promise<Response>;
  command(fields: Record<string, string>): Promise<Response>;
  api(path: string, body?: unknown): Promise<Response>;
  startDispute(input?: object): Promise<{ runId: string; checkpoint: CheckpointDoc }>;
  /** The card of `checkpointId` in `channel` once posted. */
  card(checkpointId: string, channel?: string): Promise<{ channel: string; ts: string }>;
  waitForRun(runId: string, until: (r: RunView) => boolean): Promise<RunView>;
  close(): Promise<void>;
}

export async function startSlackTestApp(o: {
  label: string;
  clock?: Clock;
  env?: Record<string, string>;
  /** Replaces the root's module list (compose.ts), e.g. `[...modules, myModule]`. */
  modules?: readonly UseCaseModule[];
}): Promise<SlackTestApp> {
  const slack = await startSlackStandin();
  for (const p of Object.values(PEOPLE)) slack.addUser(p);
  slack.addChannel(APPROVALS, [PEOPLE.alice.id, PEOPLE.carol.id]);
  const smtp = await startSmtpCapture();
  const port = await ephemeralPort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...slackAppEnv({ label: o.label, port, smtpUrl: smtp.url, slackUrl: slack.url }),
    WEBHOOK_SECRET,
    ...o.env,
  };
  const app = await createCountersign({
    config: parseEnv(env),
    seedSampleData: true,
    settings: { reconcileGraceMs: 500, agentBackoffMs: 100 },
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.modules ? { modules: o.modules } : {}),
  });
  await app.listen(port);
  const workers = app.startWorkers();

  const t: SlackTestApp = {
    app,
    slack,
    smtp,
    baseUrl,
    workers,
    async post(body, contentType, p = {}) {
      const signed = slackHeaders(SIGNING_SECRET, body, p.timestamp);
      const headers: Record<string, string> = { 'content-type': contentType, ...signed };
      if (p.signature === null) delete (headers as Partial<typeof headers>)['x-slack-signature'];
      else if (p.signature !== undefined) headers['x-slack-signature'] = p.signature;
      if (p.retryNum !== undefined) {
        headers['x-slack-retry-num'] = String(p.retryNum);
        headers['x-slack-retry-reason'] = 'http_timeout';
      }
      return fetch(`${baseUrl}/slack/events`, { method: 'POST', headers, body: p.alter ? p.alter(body) : body });
    },
    event(payload, p = {}) {
      return t.post(JSON.stringify(payload), 'application/json', p);
    },
    interact(payload) {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      return t.post(body, 'application/x-www-form-urlencoded');
    },
    command(fields) {
      return t.post(new URLSearchParams(fields).toString(), 'application/x-www-form-urlencoded');
    },
    api(path, body) {
      return fetch(`${baseUrl}${path}`, {
        method: body === undefined ? 'GET' : 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    },
    async startDispute(input = SAMPLE_DISPUTES.needsReview) {
      const raw = JSON.stringify(input);
      const res = await fetch(`${baseUrl}/webhooks/card-dispute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-countersign-signature': signWebhook(WEBHOOK_SECRET, raw) },
        body: raw,
      });
      const { runId } = (await res.json()) as { runId: string };
      const run = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
      const checkpoint = await app.engine.getCheckpoint(run.checkpoints[0]?.id ?? '');
      if (!checkpoint) throw new Error(`run ${runId} has no checkpoint: ${JSON.stringify(run)}`);
      return { runId, checkpoint };
    },
    card(checkpointId, channel = APPROVALS) {
      return slack.waitFor(() =>
        slack.messagesIn(channel).find((m) => !m.threadTs && JSON.stringify(m.blocks).includes(checkpointId)),
      );
    },
    async waitForRun(runId, until) {
      const deadline = Date.now() + 30_000;
      let last: RunView | null = null;
      while (Date.now() < deadline) {
        last = await app.engine.getRun(runId);
        if (last && until(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`run ${runId} did not reach the expected state; last: ${JSON.stringify(last)}`);
    },
    async close() {
      await app.close();
      await smtp.close();
      await slack.close();
    },
  };
  return t;
}
