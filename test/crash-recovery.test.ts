import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { killedBy, stopWorker, workerProcesses } from './support/worker-process.js';

let t: TestApp;
let model: OfflineModel;
// The app's environment already points at the offline model (`env` below).
const workers = workerProcesses(() => t.env);

beforeAll(async () => {
  model = await startOfflineModel({ latencyMs: 200, responders: disputeResponders() });
  t = await startTestApp({
    label: 'crash',
    workers: false,
    env: { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'offline', OPENAI_MODEL: 'offline' },
  });
});
afterAll(async () => {
  workers.killAll();
  await t?.close();
  await model?.close();
});

async function start(customerEmail: string) {
  const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

async function approve(runId: string) {
  const run = await t.waitForRun(runId, hasPendingCheckpoint, 150_000);
  const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, { body: { decision: 'approve' } });
  expect(res.status).toBe(200);
}

async function expectOneEmail(runId: string, customerEmail: string) {
  const done = await t.waitForRun(runId, isFinished, 150_000);
  expect(done.status).toBe('completed');
  await t.smtp.waitFor((m) => m.to.includes(customerEmail));
  expect(t.smtp.messages.filter((m) => m.to.includes(customerEmail))).toHaveLength(1);
}

describe('a worker killed with SIGKILL', () => {
  it('during an agent call: another worker finishes the run', async () => {
    const email = 'crash-agent@example.com';
    const runId = await start(email);
    expect(await killedBy(workers.start('agent-running:evidence-collector'))).toBe('SIGKILL');
    const survivor = workers.start();
    await approve(runId);
    await expectOneEmail(runId, email);
    const run = await t.app.engine.getRun(runId);
    expect(run?.steps.find((s) => s.name === 'evidence-collector')?.attempts).toBeGreaterThanOrEqual(2);
    await stopWorker(survivor);
  });

  it('after an agent result was journaled but before the run was woken', async () => {
    const email = 'crash-journaled@example.com';
    const runId = await start(email);
    expect(await killedBy(workers.start('agent-journaled:dispute-manager'))).toBe('SIGKILL');
    const survivor = workers.start();
    await approve(runId);
    await expectOneEmail(runId, email);
    await stopWorker(survivor);
  });

  it('after the reply was handed to SMTP but before the step was journaled: one email', async () => {
    const email = 'crash-smtp@example.com';
    const runId = await start(email);
    const doomed = workers.start('after-step:send-reply');
    await approve(runId);
    expect(await killedBy(doomed)).toBe('SIGKILL');
    expect(t.smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(1);
    const survivor = workers.start();
    await expectOneEmail(runId, email);
    await stopWorker(survivor);
  });

  it('after the outcome was recorded but before it was journaled', async () => {
    const email = 'crash-outcome@example.com';
    const runId = await start(email);
    const doomed = workers.start('after-step:record-outcome');
    await approve(runId);
    expect(await killedBy(doomed)).toBe('SIGKILL');
    const survivor = workers.start();
    await expectOneEmail(runId, email);
    expect(await t.app.outcomes.get(runId)).toMatchObject({ final: 'accept' });
    await stopWorker(survivor);
  });

  it('drains in-flight jobs on SIGTERM instead of dropping them', async () => {
    const email = 'crash-sigterm@example.com';
    model.setLatency(1_500);
    const runId = await start(email);
    const worker = workers.start();
    await t.waitForRun(runId, (r) => r.steps.some((s) => s.status === 'running'), 90_000);
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'exit')) as [number | null];
    expect(code).toBe(0);
    const run = await t.app.engine.getRun(runId);
    const specialists = run?.steps.filter((s) => s.kind === 'agent') ?? [];
    expect(specialists.every((s) => s.status === 'completed')).toBe(true);
    model.setLatency(200);
    const survivor = workers.start();
    await approve(runId);
    await expectOneEmail(runId, email);
    await stopWorker(survivor);
  });
});
