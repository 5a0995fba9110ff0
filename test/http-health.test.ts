import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './http-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('httphealth');
});
afterAll(async () => {
  await h.close();
});

describe('GET /healthz', () => {
  it('answers 200 when MongoDB and Redis both answer', async () => {
    const res = await fetch(`${h.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ mongo: 'ok', redis: 'ok' });
  });

  it('answers 503 naming Redis when Redis is unreachable', async () => {
    // Port 1 is closed; no retries and no offline queue, so the ping fails instead of waiting.
    const dead = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    dead.on('error', () => {});
    const down = await startHarness('httphealthdown', { redis: dead });
    try {
      const res = await fetch(`${down.url}/healthz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { mongo: string; redis: string };
      expect(body.mongo).toBe('ok');
      expect(body.redis).toMatch(/^error: /);
    } finally {
      await down.close();
    }
  });
});

describe('GET /metrics', () => {
  it('serves Prometheus text with request counts and pending checkpoints', async () => {
    await h.store.checkpoints.create({ _id: 'cp_pending', status: 'pending' });
    await fetch(`${h.url}/healthz`);
    const res = await fetch(`${h.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    expect(text).toContain('countersign_http_requests_total{route="/healthz",status="200"}');
    expect(text).toMatch(/countersign_pending_checkpoints 1\b/);
  });
});

describe('GET /', () => {
  it('sends a browser that is not signed in from / to the console sign-in page, under a strict policy', async () => {
    const res = await fetch(`${h.url}/`);
    expect(res.status).toBe(200);
    expect(new URL(res.url).pathname).toBe('/login');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(await res.text()).toContain('Email me a sign-in link');
  });
});

describe('every response', () => {
  it('carries an x-request-id, keeping a plain one the caller sent', async () => {
    const res = await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.headers.get('x-request-id')).toBe('abc-123');
    const odd = await fetch(`${h.url}/healthz`, { headers: { 'x-request-id': 'bad id <script>' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with a JSON 404 and no stack trace', async () => {
    const res = await fetch(`${h.url}/nope`, { headers: { accept: 'application/json' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', message: 'no such route' });
    expect(res.headers.get('x-powered-by')).toBeNull();
  });
});
