import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agreementRoutes } from '../handlers/agreement.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import { errorHandler } from '../src/http/errors.js';
import { type AgreementDoc, agreementModel } from '../src/store/agreements.js';
import { API_TOKEN, testConfig } from './http-harness.js';
import { type EngineHarness, isFinished, isWaiting, startEngineHarness } from './support/engine-harness.js';

/*
 * Every decided checkpoint of any workflow leaves one record in `agreements`: what the AI proposed, what was decided,
 * which fields a person changed, whether they kept the proposal, and who settled it (person, policy or timeout).
 */

const refundEditable = z.object({
  decision: z.enum(['approve', 'partial', 'deny']),
  amount: z.number().nonnegative(),
  note: z.string().min(3),
});

/** A refund approval whose outcome is the `decision` field, proposed by two agents. */
const refund = defineWorkflow({
  name: 'agree-refund',
  input: z.object({ amount: z.number(), timeoutMs: z.number().optional() }),
  async run(ctx, { amount, timeoutMs }) {
    const review = await ctx.checkpoint('review', {
      title: `Refund ${amount}`,
      summary: 'The advisor proposes a full refund.',
      evidence: [],
      proposal: { outcome: 'approve' },
      editable: refundEditable,
      values: { decision: 'approve', amount, note: 'Within policy.' },
      approvers: { emails: ['lead@example.com'] },
      agreement: { field: 'decision', agents: ['account-history', 'refund-advisor'] },
      ...(timeoutMs ? { timeout: { afterMs: timeoutMs, action: 'approve' as const } } : {}),
    });
    return { decision: review.decision, values: review.values };
  },
});

/** A checkpoint that names no outcome field: agreement means approved without edits. */
const access = defineWorkflow({
  name: 'agree-access',
  input: z.object({ who: z.string() }),
  async run(ctx, { who }) {
    const review = await ctx.checkpoint('grant', {
      title: `Access for ${who}`,
      summary: 'Read-only access to billing.',
      evidence: [],
      proposal: { outcome: 'grant' },
      editable: z.object({ role: z.string() }),
      values: { role: 'billing-read' },
      approvers: { emails: ['lead@example.com'] },
    });
    return review.decision;
  },
});

let h: EngineHarness;
let server: Server;
let baseUrl: string;
const LEAD = 'lead@example.com';

beforeAll(async () => {
  h = await startEngineHarness('agreement', [refund, access]);
  const http = express().use(agreementRoutes({ config: testConfig(), engine: h.engine }));
  http.use(errorHandler());
  server = await new Promise<Server>((resolve) => {
    const s = http.listen(0, '127.0.0.1', () => resolve(s));
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await h?.close();
});

async function decided(
  workflow: 'agree-refund' | 'agree-access',
  input: unknown,
  decision: { decision: 'approve' | 'reject'; edits?: Record<string, unknown> },
): Promise<AgreementDoc | null> {
  const { runId } = await h.engine.startRun({ workflow, input, source: { channel: 'api' } });
  const waiting = await h.waitForRun(runId, isWaiting);
  const checkpointId = waiting.checkpoints[0]?.id ?? '';
  await h.engine.decide({ checkpointId, ...decision, actor: LEAD, channel: 'api' });
  await h.waitForRun(runId, isFinished);
  return agreementModel(h.store).findById(checkpointId).lean<AgreementDoc>();
}

describe('agreement records', () => {
  it('records an approval without edits as agreed', async () => {
    const record = await decided('agree-refund', { amount: 80 }, { decision: 'approve' });
    expect(record).toMatchObject({
      workflow: 'agree-refund',
      checkpoint: 'review',
      agents: ['account-history', 'refund-advisor'],
      field: 'decision',
      proposed: 'approve',
      final: 'approve',
      decision: 'approve',
      editedFields: [],
      agreed: true,
      decidedBy: 'person',
      actor: LEAD,
      channel: 'api',
    });
  });

  it('keeps agreement when a person edits only other fields, and lists the edits', async () => {
    const record = await decided(
      'agree-refund',
      { amount: 80 },
      { decision: 'approve', edits: { note: 'Approved, loyal customer.' } },
    );
    expect(record).toMatchObject({ agreed: true, final: 'approve', editedFields: ['note'] });
  });

  it('records a changed outcome as disagreement, with the final value', async () => {
    const record = await decided(
      'agree-refund',
      { amount: 300 },
      { decision: 'approve', edits: { decision: 'partial', amount: 150 } },
    );
    expect(record).toMatchObject({ agreed: false, proposed: 'approve', final: 'partial' });
    expect(record?.editedFields.sort()).toEqual(['amount', 'decision']);
  });

  it('records a reject as disagreement', async () => {
    const record = await decided('agree-refund', { amount: 900 }, { decision: 'reject' });
    expect(record).toMatchObject({ decision: 'reject', agreed: false, final: null, decidedBy: 'person' });
  });

  it('compares the whole proposal when the checkpoint names no outcome field', async () => {
    const kept = await decided('agree-access', { who: 'ana' }, { decision: 'approve' });
    expect(kept).toMatchObject({ field: null, agreed: true, agents: [], proposed: { role: 'billing-read' } });
    const changed = await decided('agree-access', { who: 'bo' }, { decision: 'approve', edits: { role: 'admin' } });
    expect(changed).toMatchObject({ agreed: false, final: { role: 'admin' }, editedFields: ['role'] });
  });

  it('records a timeout as decided by the timeout, exactly once', async () => {
    const { runId } = await h.engine.startRun({
      workflow: 'agree-refund',
      input: { amount: 20, timeoutMs: 600_000 },
      source: { channel: 'api' },
    });
    const checkpointId = (await h.waitForRun(runId, isWaiting)).checkpoints[0]?.id ?? '';
    h.advance(601_000);
    await Promise.all([h.reconcileNow(), h.reconcileNow()]);
    await h.waitForRun(runId, isFinished);
    // More passes of the finished run change nothing.
    await h.deps.queues.enqueuePass(runId, 'again');
    await h.reconcileNow();
    const records = await agreementModel(h.store).find({ runId }).lean<AgreementDoc[]>();
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ _id: checkpointId, decidedBy: 'timeout', channel: 'timeout' });
  });
});

describe('agreement stats', () => {
  it('counts per workflow and per agent, comparing only decisions people made', async () => {
    const stats = await h.engine.agreementStats({ workflow: 'agree-refund' });
    expect(stats.workflows).toHaveLength(1);
    const w = stats.workflows[0];
    // Person decisions: agreed ×2 (one edited), changed outcome ×1 (edited), reject ×1; the timeout is not compared.
    expect(w).toMatchObject({
      workflow: 'agree-refund',
      decided: 5,
      byPerson: 4,
      byPolicy: 0,
      byTimeout: 1,
      compared: 4,
      agreed: 2,
      rate: 0.5,
      edited: 2,
    });
    expect(w?.agents).toEqual([
      { agent: 'account-history', compared: 4, agreed: 2, rate: 0.5, edited: 2 },
      { agent: 'refund-advisor', compared: 4, agreed: 2, rate: 0.5, edited: 2 },
    ]);
  });

  it('filters by the time of the decision', async () => {
    const all = await h.engine.agreementStats();
    expect(all.workflows.map((w) => w.workflow)).toEqual(['agree-access', 'agree-refund']);
    const future = new Date(Date.now() + 3_600_000);
    expect((await h.engine.agreementStats({ since: future })).workflows).toEqual([]);
    expect((await h.engine.agreementStats({ until: new Date(0) })).workflows).toEqual([]);
  });
});

describe('GET /api/agreement', () => {
  const get = (query: string, token: string | null = API_TOKEN) =>
    fetch(`${baseUrl}/api/agreement${query}`, {
      headers: { accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  it('answers with per-workflow and per-agent agreement for a Bearer token', async () => {
    const res = await get('?workflow=agree-access&since=2020-01-01');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { workflow: string; since: string; workflows: unknown[] };
    expect(body).toMatchObject({
      workflow: 'agree-access',
      since: '2020-01-01',
      workflows: [{ workflow: 'agree-access', decided: 2, compared: 2, agreed: 1, rate: 0.5, agents: [] }],
    });
  });

  it('refuses a request without the token', async () => {
    const res = await get('', null);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('Bearer');
  });

  it('names a malformed time in the query', async () => {
    const res = await get('?since=yesterday');
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('expected an ISO 8601 date or time');
  });

  it('refuses a period that ends before it starts', async () => {
    const res = await get('?since=2026-11-02&until=2026-11-01');
    expect(res.status).toBe(400);
    expect(JSON.stringify(await res.json())).toContain('since must not be after until');
  });
});
