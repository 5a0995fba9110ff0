import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { FaultSpec } from '../src/offline-model/index.js';
import type { ModelCallDoc } from '../src/store/models.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

/*
 * Model failures through the whole flow: webhook → agents → checkpoint, with faults injected into the app's own
 * offline model. Timeouts are not here: the dispute agents' `timeoutMs` (30 s specialists, 60 s manager) is fixed in
 * agents/disputes/agents.ts and no setting shortens it, so a hanging model is tested at the runtime level in
 * test/agent-runtime.test.ts ("retries a request that times out, then fails as Retryable").
 */

let t: TestApp;

beforeAll(async () => {
  // Two queue attempts per agent step keep the "fails after its attempts" case to a few seconds.
  t = await startTestApp({ label: 'modelfail', settings: { agentAttempts: 2, agentBackoffMs: 100 } });
});
afterEach(() => {
  t.app.offlineModel?.faults.clear();
});
afterAll(async () => {
  await t?.close();
});

function inject(spec: FaultSpec) {
  const model = t.app.offlineModel;
  if (!model) throw new Error('the test app runs without the offline model');
  model.faults.inject(spec);
}

async function startDispute(customerEmail: string) {
  const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

async function modelCalls(runId: string, agent: string) {
  return t.app.store.modelCalls.find({ runId, agent }).sort({ at: 1, _id: 1 }).lean<ModelCallDoc[]>();
}

describe('a specialist rate-limited once (429 with Retry-After)', () => {
  const email = 'ratelimited@example.com';
  let runId: string;

  beforeAll(async () => {
    inject({ agent: 'evidence-collector', kind: 'rate_limit', times: 1, retryAfterSeconds: 0.3 });
    runId = await startDispute(email);
    await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
  });

  it('still brings the run to its checkpoint', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run?.status).toBe('waiting');
    expect(run?.checkpoints).toHaveLength(1);
    expect(run?.steps.find((s) => s.name === 'evidence-collector')).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('journals the 429 attempt, then the successful one', async () => {
    const calls = await modelCalls(runId, 'evidence-collector');
    expect(calls[0]).toMatchObject({ status: 'error', httpStatus: 429, turn: 1 });
    expect(calls[1]).toMatchObject({ status: 'ok', turn: 1 });
    expect(calls.slice(1).every((c) => c.status === 'ok')).toBe(true);
  });

  it('waits as long as Retry-After asked before trying again', async () => {
    const [limited, retried] = await modelCalls(runId, 'evidence-collector');
    const gap = (retried?.at.getTime() ?? 0) - (limited?.at.getTime() ?? 0);
    expect(gap).toBeGreaterThanOrEqual(300);
  });
});

describe('the manager breaking its schema once', () => {
  const email = 'repaired@example.com';
  let runId: string;

  beforeAll(async () => {
    inject({ agent: 'dispute-manager', kind: 'schema_violation', times: 1 });
    runId = await startDispute(email);
    await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
  });

  it('is repaired on the next turn and the run reaches its checkpoint', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run?.status).toBe('waiting');
    expect(run?.steps.find((s) => s.name === 'dispute-manager')).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('spends exactly one extra model turn on the repair', async () => {
    // turn 1 reads the refund policy, turn 2 answers outside the schema, turn 3 is the repaired answer
    const calls = await modelCalls(runId, 'dispute-manager');
    expect(calls.map((c) => [c.turn, c.status])).toEqual([
      [1, 'ok'],
      [2, 'ok'],
      [3, 'ok'],
    ]);
  });

  it('puts a schema-valid proposal in front of the person', async () => {
    const run = await t.app.engine.getRun(runId);
    const cp = await t.app.engine.getCheckpoint(run?.checkpoints[0]?.id ?? '');
    expect(cp?.proposal).toMatchObject({ outcome: 'review' });
    expect(cp?.values).toMatchObject({ outcome: 'accept', reply: expect.stringContaining('Linus Nakamura') });
  });
});

describe('the manager breaking its schema on every turn', () => {
  const email = 'schemabroken@example.com';
  let runId: string;

  beforeAll(async () => {
    inject({ agent: 'dispute-manager', kind: 'schema_violation', times: 1_000 });
    runId = await startDispute(email);
    await t.waitForRun(runId, isFinished);
  });

  it('marks the dispute-manager step failed with an error naming the schema', async () => {
    const run = await t.app.engine.getRun(runId);
    const step = run?.steps.find((s) => s.name === 'dispute-manager');
    expect(step?.status).toBe('failed');
    expect(step?.error?.message).toMatch(/dispute-manager returned output that does not match its schema/);
  });

  it('does not retry a step whose output failed the repair', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run?.steps.find((s) => s.name === 'dispute-manager')?.attempts).toBe(1);
    expect(await modelCalls(runId, 'dispute-manager')).toHaveLength(3);
  });

  it('fails the run visibly, keeping the error', async () => {
    const res = await t.api(`/api/runs/${runId}`);
    expect(res.status).toBe(200);
    const run = (await res.json()) as { status: string; error: { message: string } | null };
    expect(run.status).toBe('failed');
    expect(run.error?.message).toMatch(/dispute-manager.*does not match its schema/);
  });

  it('creates no checkpoint', async () => {
    expect(await t.app.store.checkpoints.countDocuments({ runId })).toBe(0);
  });

  it('writes nothing to the customer', async () => {
    expect(t.smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(0);
    expect(await t.app.store.effects.countDocuments({ _id: { $regex: `^email:${runId}/` } })).toBe(0);
  });
});

describe('a specialist whose model answers 500 on every call', () => {
  const email = 'servererror@example.com';
  let runId: string;

  beforeAll(async () => {
    inject({ agent: 'account-risk', kind: 'server_error', times: 1_000 });
    runId = await startDispute(email);
    await t.waitForRun(runId, isFinished);
  });

  it('fails that step after its queue attempts', async () => {
    const run = await t.app.engine.getRun(runId);
    const step = run?.steps.find((s) => s.name === 'account-risk');
    expect(step).toMatchObject({ status: 'failed', attempts: 2 });
    expect(step?.error).toMatchObject({ code: 'retryable' });
    expect(step?.error?.message).toMatch(/account-risk failed after 4 attempts/);
  });

  it('journals every 500 it got', async () => {
    const calls = await modelCalls(runId, 'account-risk');
    // four model requests per queue attempt, two queue attempts
    expect(calls).toHaveLength(8);
    expect(calls.every((c) => c.status === 'error' && c.httpStatus === 500)).toBe(true);
  });

  it('fails the run visibly without asking the manager', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run?.status).toBe('failed');
    expect(run?.error?.message).toMatch(/step account-risk failed/);
    expect(run?.steps.some((s) => s.name === 'dispute-manager')).toBe(false);
    expect(run?.checkpoints).toHaveLength(0);
  });

  it('writes nothing to the customer', () => {
    expect(t.smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(0);
  });
});
