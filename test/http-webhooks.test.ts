import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '../src/http/signature.js';
import { type Harness, startHarness, testConfig, WEBHOOK_SECRET } from './http-harness.js';

const dispute = {
  customerEmail: 'jo@example.com',
  chargeId: 'ch_123',
  amount: 42.5,
  currency: 'USD',
  reason: 'fraud',
  description: 'I never bought this.',
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness('httpwebhooks');
});
afterAll(async () => {
  await h.close();
});

function post(
  body: string | Buffer,
  opts: { workflow?: string; signature?: string | null; key?: string; type?: string } = {},
) {
  const headers: Record<string, string> = { 'content-type': opts.type ?? 'application/json' };
  const signature = opts.signature === undefined ? signWebhook(WEBHOOK_SECRET, body) : opts.signature;
  if (signature !== null) headers['x-countersign-signature'] = signature;
  if (opts.key !== undefined) headers['idempotency-key'] = opts.key;
  return fetch(`${h.url}/webhooks/${opts.workflow ?? 'card-dispute'}`, { method: 'POST', headers, body });
}

describe('POST /webhooks/:workflow', () => {
  it('starts a run and answers 202 with its id', async () => {
    const res = await post(JSON.stringify(dispute));
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    expect(h.engine.runs.has(runId)).toBe(true);
    expect(h.engine.started.at(-1)?.source).toEqual({ channel: 'webhook', key: undefined });
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('answers 200 with the same runId when the Idempotency-Key repeats', async () => {
    const body = JSON.stringify(dispute);
    const first = await post(body, { key: 'order-77' });
    const second = await post(body, { key: 'order-77' });
    expect(first.status).toBe(202);
    expect(second.status).toBe(200);
    expect(await second.json()).toEqual(await first.json());
    expect(h.engine.started.at(-1)).toMatchObject({ idempotencyKey: 'order-77', source: { key: 'order-77' } });
  });

  it('refuses a request without a signature with 401', async () => {
    const res = await post(JSON.stringify(dispute), { signature: null });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'invalid_signature' });
  });

  it('refuses a wrong signature with 401 and starts nothing', async () => {
    const before = h.engine.started.length;
    const res = await post(JSON.stringify(dispute), { signature: signWebhook('some-other-secret-xyz', 'x') });
    expect(res.status).toBe(401);
    expect(h.engine.started.length).toBe(before);
  });

  it('does not reveal whether a workflow exists to an unsigned caller', async () => {
    const res = await post('{}', { workflow: 'no-such-flow', signature: null });
    expect(res.status).toBe(401);
  });

  it('answers 404 for an unknown workflow', async () => {
    const res = await post(JSON.stringify(dispute), { workflow: 'no-such-flow' });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: 'unknown_workflow' });
  });

  it('answers 400 invalid_json for a body that is not JSON', async () => {
    const res = await post('{"chargeId": ');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_json' });
  });

  it('answers 400 with the validation issues for wrong types', async () => {
    const res = await post(JSON.stringify({ ...dispute, amount: 'forty-two', customerEmail: 'nope' }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; issues: { path: string; message: string }[] };
    expect(body.error).toBe('invalid_input');
    expect(body.issues.map((i) => i.path).sort()).toEqual(['amount', 'customerEmail']);
  });

  it('answers 400 for an Idempotency-Key that is too long', async () => {
    const res = await post(JSON.stringify(dispute), { key: 'k'.repeat(201) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_input' });
  });

  it('answers 413 for a 2 MB body without parsing it', async () => {
    const before = h.engine.started.length;
    const big = Buffer.alloc(2 * 1024 * 1024, 'a');
    const res = await post(big);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: 'payload_too_large' });
    expect(h.engine.started.length).toBe(before);
  });

  it('answers 415 for a body that is not declared as JSON', async () => {
    const res = await post(JSON.stringify(dispute), { type: 'text/plain' });
    expect(res.status).toBe(415);
  });

  it('answers 503 when no webhook secret is configured outside demo mode', async () => {
    const off = await startHarness('httpwebhooksoff', { config: testConfig({ WEBHOOK_SECRET: undefined }) });
    try {
      const res = await fetch(`${off.url}/webhooks/card-dispute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-countersign-signature': signWebhook('', '{}') },
        body: '{}',
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ error: 'webhooks_not_configured' });
    } finally {
      await off.close();
    }
  });

  it('accepts webhooks signed with APP_SECRET in demo mode when WEBHOOK_SECRET is unset', async () => {
    const config = testConfig({ WEBHOOK_SECRET: undefined, COUNTERSIGN_DEMO: '1' });
    const demo = await startHarness('httpwebhooksdemo', { config });
    try {
      const body = JSON.stringify(dispute);
      const res = await fetch(`${demo.url}/webhooks/card-dispute`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-countersign-signature': signWebhook(config.appSecret, body) },
        body,
      });
      expect(res.status).toBe(202);
    } finally {
      await demo.close();
    }
  });

  it('counts requests by route pattern, not by URL', async () => {
    const text = await h.metrics.registry.getSingleMetricAsString('countersign_http_requests_total');
    expect(text).toContain('route="/webhooks/:workflow",status="202"');
    expect(text).not.toContain('no-such-flow');
  });
});
