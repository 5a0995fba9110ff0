import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { signWebhook } from '../src/http/signature.js';
import { startTestApp, type TestApp, WEBHOOK_SECRET } from './support/app.js';

/*
 * Bad webhook input against the real app (real store and queues). Workers are off, so every job a request
 * enqueued stays countable in Redis and every document it wrote stays countable in the database.
 */

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ label: 'badinput', workers: false });
});
afterAll(async () => {
  await t?.close();
});

const dispute = { ...SAMPLE_DISPUTES.clearReject, customerEmail: 'badinput@example.com' };

/** Everything a started run leaves behind: documents and queued jobs. */
async function footprint() {
  const { store, deps } = t.app;
  const jobs = await deps.queues.runs.getJobCounts();
  return {
    runs: await store.runs.countDocuments({}),
    idempotency: await store.idempotency.countDocuments({}),
    steps: await store.steps.countDocuments({}),
    checkpoints: await store.checkpoints.countDocuments({}),
    runJobs: Object.values(jobs).reduce((n, c) => n + c, 0),
  };
}

/** A raw POST, so each test controls the body bytes and the signature header exactly. */
function post(body: string | Buffer, opts: { workflow?: string; signature?: string | null; key?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const signature = opts.signature === undefined ? signWebhook(WEBHOOK_SECRET, body) : opts.signature;
  if (signature !== null) headers['x-countersign-signature'] = signature;
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  return fetch(`${t.baseUrl}/webhooks/${opts.workflow ?? 'card-dispute'}`, { method: 'POST', headers, body });
}

describe('a webhook the app refuses', () => {
  let before: Awaited<ReturnType<typeof footprint>>;
  beforeAll(async () => {
    before = await footprint();
  });

  it('answers 400 invalid_json to malformed JSON and stores nothing', async () => {
    const res = await post('{"chargeId": "ch_2001", ', { key: 'malformed-1' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_json' });
    expect(await footprint()).toEqual(before);
  });

  it('answers 400 listing the path of every wrongly typed field and stores nothing', async () => {
    const res = await post(JSON.stringify({ ...dispute, amount: true, customerEmail: 42, chargeId: ['ch_2001'] }), {
      key: 'wrong-types-1',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: { path: string; message: string }[] };
    expect(body.error).toBe('invalid_input');
    expect(body.issues.map((i) => i.path).sort()).toEqual(['amount', 'chargeId', 'customerEmail']);
    expect(body.issues.every((i) => i.message.length > 0)).toBe(true);
    expect(await footprint()).toEqual(before);
  });

  it('answers 400 naming a missing field and stores nothing', async () => {
    const { description: _omitted, ...withoutDescription } = dispute;
    const res = await post(JSON.stringify(withoutDescription), { key: 'missing-1' });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: { path: string }[] };
    expect(body.issues.map((i) => i.path)).toEqual(['description']);
    expect(await footprint()).toEqual(before);
  });

  it('answers 413 to a 2 MB body and stores nothing', async () => {
    const huge = JSON.stringify({ ...dispute, description: 'x'.repeat(2 * 1024 * 1024) });
    const res = await post(huge, { key: 'huge-1' });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large' });
    expect(await footprint()).toEqual(before);
  });

  it('answers 401 to a missing signature and stores nothing', async () => {
    const res = await post(JSON.stringify(dispute), { signature: null, key: 'unsigned-1' });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_signature' });
    expect(await footprint()).toEqual(before);
  });

  it('answers 401 to a wrong signature and stores nothing', async () => {
    const body = JSON.stringify(dispute);
    const res = await post(body, { signature: signWebhook('not-the-webhook-secret-0000', body), key: 'forged-1' });
    expect(res.status).toBe(401);
    expect(await footprint()).toEqual(before);
  });

  it('answers 401 to a signature of other bytes and stores nothing', async () => {
    const body = JSON.stringify(dispute);
    const res = await post(body, { signature: signWebhook(WEBHOOK_SECRET, `${body} `), key: 'tampered-1' });
    expect(res.status).toBe(401);
    expect(await footprint()).toEqual(before);
  });

  it('answers 404 to an unknown workflow and stores nothing', async () => {
    const res = await post(JSON.stringify(dispute), { workflow: 'wire-transfer', key: 'unknown-1' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'unknown_workflow' });
    expect(await footprint()).toEqual(before);
  });

  it('never answers with a stack trace', async () => {
    const res = await post('{"chargeId": ');
    expect(await res.text()).not.toMatch(/\n\s+at /);
  });
});

describe('the same Idempotency-Key twice', () => {
  const body = JSON.stringify({ ...dispute, customerEmail: 'idempotent@example.com' });
  let first: Response;
  let second: Response;
  let before: Awaited<ReturnType<typeof footprint>>;

  beforeAll(async () => {
    before = await footprint();
    first = await post(body, { key: 'dispute-evt-1001' });
    second = await post(body, { key: 'dispute-evt-1001' });
  });

  it('answers 202, then 200 with the same runId', async () => {
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    const a = (await first.json()) as { runId: string };
    const b = (await second.json()) as { runId: string };
    expect(b.runId).toBe(a.runId);
    expect(await t.app.store.runs.countDocuments({ _id: a.runId })).toBe(1);
  });

  it('makes one run, one key and one queued pass', async () => {
    expect(await footprint()).toEqual({
      ...before,
      runs: before.runs + 1,
      // The run's start record, the first line of its journal.
      steps: before.steps + 1,
      idempotency: before.idempotency + 1,
      runJobs: before.runJobs + 1,
    });
  });
});
