import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyApprovalToken } from '../src/approvals/tokens.js';
import { API_TOKEN, APP_SECRET, type Harness, runView, startHarness } from './http-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('httpapi');
});
afterAll(async () => {
  await h.close();
});

function api(path: string, init: { method?: string; body?: unknown; token?: string | null } = {}) {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? API_TOKEN}`;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  return fetch(`${h.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
}

describe('/api authentication', () => {
  it('answers 401 with a Bearer challenge without a token', async () => {
    const res = await api('/api/runs', { token: null });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  it('answers 401 for a wrong token, even on routes that do not exist', async () => {
    expect((await api('/api/runs', { token: 'wrong-token-0123456789' })).status).toBe(401);
    expect((await api('/api/nothing-here', { token: null })).status).toBe(401);
  });
});

describe('GET /api/runs', () => {
  it('returns a run by id and 404 for an unknown one', async () => {
    h.engine.runs.set('run_a', runView('run_a', 'card-dispute', { chargeId: 'ch_1' }));
    const res = await api('/api/runs/run_a');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: 'run_a', workflow: 'card-dispute', status: 'waiting' });
    const missing = await api('/api/runs/run_none');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('lists runs filtered by status', async () => {
    const res = await api('/api/runs?status=waiting&limit=10');
    expect(res.status).toBe(200);
    const { runs } = (await res.json()) as { runs: { id: string }[] };
    expect(runs.map((r) => r.id)).toContain('run_a');
  });

  it('refuses an unknown status with 400', async () => {
    const res = await api('/api/runs?status=sleeping');
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_input', issues: [{ path: 'status' }] });
  });
});

describe('POST /api/checkpoints/:id/decision', () => {
  it('records a decision and answers 200 with the checkpoint', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await api(`/api/checkpoints/${cp._id}/decision`, {
      method: 'POST',
      body: { decision: 'approve', edits: { reply: 'Refunded.' }, actor: 'ops-script' },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      checkpoint: {
        id: cp._id,
        status: 'approved',
        decision: { decision: 'approve', actor: 'ops-script', channel: 'api' },
      },
    });
  });

  it('answers 409 naming who decided first', async () => {
    const cp = h.engine.addCheckpoint();
    await api(`/api/checkpoints/${cp._id}/decision`, { method: 'POST', body: { decision: 'reject', actor: 'first' } });
    const res = await api(`/api/checkpoints/${cp._id}/decision`, { method: 'POST', body: { decision: 'approve' } });
    expect(res.status).toBe(409);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ error: 'already_decided', decidedBy: 'first', decision: 'reject', channel: 'api' });
    expect(typeof body.decidedAt).toBe('string');
  });

  it('defaults the actor to "api"', async () => {
    const cp = h.engine.addCheckpoint();
    await api(`/api/checkpoints/${cp._id}/decision`, { method: 'POST', body: { decision: 'approve' } });
    expect(h.engine.decisions.at(-1)).toMatchObject({ actor: 'api', channel: 'api' });
  });

  it('answers 400 with issues for invalid edits and for unknown body fields', async () => {
    const cp = h.engine.addCheckpoint();
    const bad = await api(`/api/checkpoints/${cp._id}/decision`, {
      method: 'POST',
      body: { decision: 'approve', edits: { outcome: 'maybe' } },
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'invalid_input', issues: [{ path: 'outcome' }] });
    const typo = await api(`/api/checkpoints/${cp._id}/decision`, {
      method: 'POST',
      body: { decision: 'approve', edit: { outcome: 'reject' } },
    });
    expect(typo.status).toBe(400);
  });

  it('answers 404 for an unknown checkpoint', async () => {
    const res = await api('/api/checkpoints/cp_none/decision', { method: 'POST', body: { decision: 'approve' } });
    expect(res.status).toBe(404);
  });

  it('answers 400 invalid_json for a broken JSON body', async () => {
    const res = await fetch(`${h.url}/api/checkpoints/x/decision`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
      body: '{"decision":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'invalid_json' });
  });

  it('answers 413 for a JSON body over 100 kB', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await api(`/api/checkpoints/${cp._id}/decision`, {
      method: 'POST',
      body: { decision: 'approve', comment: 'x'.repeat(150_000) },
    });
    expect(res.status).toBe(413);
  });
});

describe('checkpoints and links', () => {
  it('returns a checkpoint without storage fields', async () => {
    const cp = h.engine.addCheckpoint();
    const body = (await (await api(`/api/checkpoints/${cp._id}`)).json()) as Record<string, unknown>;
    expect(body).toMatchObject({ id: cp._id, status: 'pending', title: cp.title, decision: null });
    expect(body).not.toHaveProperty('_id');
  });

  it('mints a link for an approver that verifies with APP_SECRET', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await api(`/api/checkpoints/${cp._id}/links`, {
      method: 'POST',
      body: { recipient: 'Ana@Example.com', ttlHours: 2 },
    });
    expect(res.status).toBe(200);
    const { url } = (await res.json()) as { url: string };
    expect(url.startsWith('https://countersign.test/approvals/')).toBe(true);
    const check = verifyApprovalToken(APP_SECRET, url.split('/').pop() ?? '', new Date());
    expect(check).toMatchObject({ ok: true, payload: { checkpointId: cp._id, recipient: 'ana@example.com' } });
  });

  it('refuses to mint a link for someone who may not decide', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await api(`/api/checkpoints/${cp._id}/links`, {
      method: 'POST',
      body: { recipient: 'eve@example.com' },
    });
    expect(res.status).toBe(403);
  });
});

describe('unexpected failures', () => {
  it('answers 500 with a request id and no stack trace', async () => {
    const original = h.engine.getRun;
    h.engine.getRun = async () => {
      throw new Error('boom: secret internals at /srv/app.js:12');
    };
    try {
      const res = await api('/api/runs/run_a');
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(JSON.parse(text)).toEqual({
        error: 'internal',
        message: 'internal error',
        requestId: res.headers.get('x-request-id'),
      });
      expect(text).not.toContain('boom');
    } finally {
      h.engine.getRun = original;
    }
  });
});
