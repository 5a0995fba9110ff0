import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { approvalLink } from '../src/approvals/tokens.js';
import { emailModels } from '../src/channels/email/store.js';
import { signWebhook } from '../src/http/signature.js';
import type { RunDoc } from '../src/store/models.js';
import { WEBHOOK_SECRET } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { waitFor } from './support/engine-harness.js';
import { mongodbUri, redisUrl, testMongoUri } from './support/env.js';
import { AUTHSERV_ID, customerMail } from './support/imap-app.js';
import { APPROVALS, PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { appMention, eventCallback } from './support/slack-payloads.js';
import { hostOf, startTcpGate, type TcpGate } from './support/tcp-gate.js';

/**
 * The real app behind TCP gates to the shared FerretDB and Redis: shutting a gate is, for this app, the store or
 * Redis going away (connections cut, new ones reset), while every other test keeps its services.
 */
let t: SlackTestApp;
let mongoGate: TcpGate;
let redisGate: TcpGate;
let approvalUrl: string;
let box: TestMailbox;

function webhook(body: unknown, key?: string) {
  const raw = JSON.stringify(body);
  return fetch(`${t.baseUrl}/webhooks/card-dispute`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-countersign-signature': signWebhook(WEBHOOK_SECRET, raw),
      ...(key ? { 'idempotency-key': key } : {}),
    },
    body: raw,
  });
}

const mention = (text: string) =>
  eventCallback(appMention({ user: PEOPLE.alice.id, channel: APPROVALS, text, ts: `${Date.now() / 1000}` }));

async function healthz() {
  const res = await fetch(`${t.baseUrl}/healthz`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The sender's side of Retry-After: try again until the answer is no longer 503. */
async function retryUntilServed(send: () => Promise<Response>): Promise<Response> {
  return waitFor(
    'the request to be served',
    async () => {
      const res = await send();
      if (res.status !== 503) return res;
      await res.body?.cancel();
      return null;
    },
    120_000,
  );
}

/** The value of one series in Prometheus text. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.slice(series.length + 1) ?? Number.NaN);
}

/** The reader's record of a message, once it is finished with it (done, ignored or quarantined). */
function handled(messageId: string) {
  const messages = emailModels(t.app.store.connection).messages;
  return waitFor(
    `${messageId} to be handled`,
    async () => {
      const doc = await messages.findOne({ messageId }).lean();
      return doc && doc.status !== 'processing' ? doc : null;
    },
    120_000,
  );
}

/** Runs the message started in the workflow its route names (the intake run may go on to start a case of its own). */
async function intakeRunsOf(messageId: string, runId: string | undefined): Promise<number> {
  const run = await t.app.store.runs.findById(runId).lean();
  if (!run) return 0;
  return t.app.store.runs.countDocuments({ 'source.key': messageId, workflow: run.workflow });
}

const runsWithKey = (key: string) => t.app.store.runs.countDocuments({ 'source.key': key });

async function expectUnavailable(res: Response, dependency: 'mongo' | 'redis') {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toBe('5');
  expect(await res.json()).toEqual({
    error: 'unavailable',
    message: `${dependency} is unreachable; try again shortly`,
    dependency,
  });
}

beforeAll(async () => {
  mongoGate = await startTcpGate(hostOf(mongodbUri()));
  redisGate = await startTcpGate(hostOf(redisUrl()));
  box = await testMailbox('outage');
  t = await startSlackTestApp({
    label: 'httpoutage',
    env: {
      MONGODB_URI: mongoGate.in(testMongoUri('httpoutage')),
      REDIS_URL: redisGate.in(redisUrl()),
      IMAP_URL: box.url,
      IMAP_AUTHSERV_ID: AUTHSERV_ID,
      MAIL_FROM: 'Northwind Disputes <disputes@northwind.test>',
    },
  });
  const { checkpoint } = await t.startDispute();
  approvalUrl = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, {
    checkpointId: checkpoint._id,
    recipient: PEOPLE.alice.email,
  });
}, 180_000);

afterAll(async () => {
  mongoGate?.open();
  redisGate?.open();
  await t?.close();
  await mongoGate?.stop();
  await redisGate?.stop();
}, 120_000);

describe('a webhook whose key was recorded but whose run was not', () => {
  it('starts the run when the sender retries, once', async () => {
    const engineStore = t.app.deps.engineStore;
    const createRun = engineStore.createRun.bind(engineStore);
    let failed = false;
    // The store goes away between the key's claim and the run's insert, once.
    engineStore.createRun = async (run: RunDoc) => {
      if (!failed) {
        failed = true;
        throw Object.assign(new Error('connection 7 to 127.0.0.1:27027 closed'), { name: 'MongoNetworkError' });
      }
      return createRun(run);
    };
    try {
      const key = `half-${Date.now()}`;
      const first = await webhook(SAMPLE_DISPUTES.needsReview, key);
      await expectUnavailable(first, 'mongo');
      expect(await runsWithKey(key)).toBe(0);

      const retried = await retryUntilServed(() => webhook(SAMPLE_DISPUTES.needsReview, key));
      expect(retried.status).toBe(202);
      const { runId } = (await retried.json()) as { runId: string };
      expect(await t.app.engine.getRun(runId)).not.toBeNull();

      const again = await webhook(SAMPLE_DISPUTES.needsReview, key);
      expect(again.status).toBe(200);
      expect(await again.json()).toEqual({ runId });
      expect(await runsWithKey(key)).toBe(1);
    } finally {
      engineStore.createRun = createRun;
    }
  }, 180_000);
});

describe('the store unreachable', () => {
  const key = `mongo-outage-${Date.now()}`;

  it('answers a request that meets the outage with 503, never 500', async () => {
    mongoGate.shut();
    const res = await webhook(SAMPLE_DISPUTES.needsReview, key);
    await expectUnavailable(res, 'mongo');
  }, 120_000);

  it('names the store on /healthz with how long it has been down', async () => {
    const { status, body } = await waitFor('/healthz to name mongo', async () => {
      const h = await healthz();
      const down = h.body.down as Record<string, { seconds: number }> | undefined;
      return h.status === 503 && (down?.mongo?.seconds ?? 0) >= 1 ? h : null;
    });
    expect(status).toBe(503);
    expect(body.mongo).toMatch(/^error: /);
    expect(body.redis).toBe('ok');
    const down = body.down as Record<string, { since: string; seconds: number }>;
    expect(Object.keys(down)).toEqual(['mongo']);
    expect(Date.parse(down.mongo?.since ?? '')).toBeLessThan(Date.now());
  }, 120_000);

  it('shows the store down on /metrics', async () => {
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toContain('countersign_dependency_up{dependency="mongo"} 0');
    expect(text).toContain('countersign_dependency_up{dependency="redis"} 1');
    expect(sample(text, 'countersign_dependency_down_seconds{dependency="mongo"}')).toBeGreaterThan(0);
    expect(sample(text, 'countersign_dependency_outages_total{dependency="mongo"}')).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('refuses the webhook, the API, the approval page and Slack events at once, with Retry-After', async () => {
    const started = Date.now();
    await expectUnavailable(await webhook(SAMPLE_DISPUTES.needsReview, key), 'mongo');
    await expectUnavailable(await t.api('/api/runs'), 'mongo');
    const page = await fetch(approvalUrl);
    expect(page.status).toBe(503);
    expect(page.headers.get('retry-after')).toBe('5');
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toContain('mongo is unreachable; try again shortly');
    const event = await t.event(mention('during the outage'));
    expect(event.status).toBe(503);
    expect(event.headers.get('retry-after')).toBe('5');
    // Not one of them waited for a driver timeout (server selection alone is 5 s).
    expect(Date.now() - started).toBeLessThan(4_000);
  }, 60_000);

  it('serves every route again once the store is back, and the retried webhook starts one run', async () => {
    mongoGate.open();
    const res = await retryUntilServed(() => webhook(SAMPLE_DISPUTES.needsReview, key));
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const replay = await webhook(SAMPLE_DISPUTES.needsReview, key);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ runId });
    expect(await runsWithKey(key)).toBe(1);

    expect((await t.api('/api/runs')).status).toBe(200);
    expect((await fetch(approvalUrl)).status).toBe(200);
    expect((await t.event(mention('after the outage'))).status).toBe(200);
    expect(await healthz()).toEqual({ status: 200, body: { mongo: 'ok', redis: 'ok' } });
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toContain('countersign_dependency_up{dependency="mongo"} 1');
    expect(text).toContain('countersign_dependency_down_seconds{dependency="mongo"} 0');
  }, 180_000);
});

describe('Redis unreachable', () => {
  const key = `redis-outage-${Date.now()}`;

  it('refuses with 503 naming Redis while it is away', async () => {
    redisGate.shut();
    // A request that meets the outage fails fast (no offline queue) and is a 503 too; either way it says Redis.
    const res = await webhook(SAMPLE_DISPUTES.needsReview, key);
    await expectUnavailable(res, 'redis');
    const { body } = await waitFor('/healthz to name redis', async () => {
      const h = await healthz();
      return h.status === 503 && (h.body.down as Record<string, unknown> | undefined)?.redis ? h : null;
    });
    expect(body.redis).toMatch(/^error: /);
    expect(body.mongo).toBe('ok');
    await expectUnavailable(await t.api('/api/runs'), 'redis');
    expect((await t.event(mention('while redis is away'))).status).toBe(503);
    const text = await (await fetch(`${t.baseUrl}/metrics`)).text();
    expect(text).toContain('countersign_dependency_up{dependency="redis"} 0');
  }, 120_000);

  it('starts the retried webhook exactly once when Redis is back', async () => {
    redisGate.open();
    const res = await retryUntilServed(() => webhook(SAMPLE_DISPUTES.needsReview, key));
    expect([200, 202]).toContain(res.status);
    const { runId } = (await res.json()) as { runId: string };
    const replay = await webhook(SAMPLE_DISPUTES.needsReview, key);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toEqual({ runId });
    expect(await runsWithKey(key)).toBe(1);
    // Its first pass was enqueued: the run moves on to its checkpoint.
    await t.waitForRun(runId, (r) => r.status === 'waiting' || r.status === 'completed');
    expect((await t.event(mention('after redis returned'))).status).toBe(200);
  }, 180_000);
});

describe('the mailbox reader during an outage', () => {
  it('starts the run of a message that arrived while the store was away, once, when it returns', async () => {
    mongoGate.shut();
    const messageId = `<store-outage-${Date.now()}@example.com>`;
    await box.append(customerMail({ messageId, body: 'I was charged twice, 49.00 EUR, ch_1002.' }));
    // Long enough for the reader to try and fail at least once.
    await waitFor('/healthz to have named mongo for 3 s', async () => {
      const h = await healthz();
      return ((h.body.down as Record<string, { seconds: number }> | undefined)?.mongo?.seconds ?? 0) >= 3;
    });
    mongoGate.open();
    const doc = await handled(messageId);
    expect(doc.status).toBe('done');
    expect(await intakeRunsOf(messageId, doc.runId)).toBe(1);
    expect(await box.list('INBOX')).toEqual([]);
  }, 180_000);

  it('finishes a message whose run met a Redis outage, with one run that goes on', async () => {
    redisGate.shut();
    const messageId = `<redis-outage-${Date.now()}@example.com>`;
    await box.append(customerMail({ messageId, body: 'Charged twice again, 49.00 EUR, ch_1002.' }));
    const messages = emailModels(t.app.store.connection).messages;
    // The reader got as far as Redis: the message is claimed, and stays unfinished while Redis is away.
    await waitFor('the reader to claim the message', () => messages.findOne({ messageId }).lean(), 120_000);
    expect((await messages.findOne({ messageId }).lean())?.status).toBe('processing');
    redisGate.open();
    const doc = await handled(messageId);
    expect(doc.status).toBe('done');
    expect(await intakeRunsOf(messageId, doc.runId)).toBe(1);
    await t.waitForRun(doc.runId ?? '', (r) => r.status !== 'queued');
  }, 180_000);
});
