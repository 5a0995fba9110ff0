import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { type OfflineModel, startOfflineModel } from '../src/offline-model/index.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let t: TestApp;
let model: OfflineModel;
const children = new Set<ChildProcess>();

/** A real `countersign worker` process, as an operator would start it. */
function startWorker(failpoints = ''): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', 'worker'], {
    cwd: root,
    env: {
      ...process.env,
      ...t.env,
      OPENAI_BASE_URL: model.baseUrl,
      OPENAI_API_KEY: 'offline',
      OPENAI_MODEL: 'offline',
      COUNTERSIGN_FAILPOINTS: failpoints,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

async function killedBy(child: ChildProcess): Promise<string | null> {
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return signal;
}

async function stop(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}

beforeAll(async () => {
  model = await startOfflineModel({ latencyMs: 200, responders: disputeResponders() });
  t = await startTestApp({
    label: 'crash',
    workers: false,
    env: { OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY: 'offline', OPENAI_MODEL: 'offline' },
  });
});
afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await t?.close();
  await model?.close();
});

async function start(customerEmail: string) {
  const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail });
  expect(res.status).toBe(202);
  return ((await res.json()) as { runId: string }).runId;
}

async function approve(runId: string) {
  const run = await t.waitForRun(runId, hasPendingCheckpoint, 60_000);
  const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, { body: { decision: 'approve' } });
  expect(res.status).toBe(200);
}

async function expectOneEmail(runId: string, customerEmail: string) {
  const done = await t.waitForRun(runId, isFinished, 60_000);
  expect(done.status).toBe('completed');
  await t.smtp.waitFor((m) => m.to.includes(customerEmail));
  expect(t.smtp.messages.filter((m) => m.to.includes(customerEmail))).toHaveLength(1);
}

describe('a worker killed with SIGKILL', () => {
  it('during an agent call: another worker finishes the run', async () => {
    const email = 'crash-agent@example.com';
    const runId = await start(email);
    expect(await killedBy(startWorker('agent-running:evidence-collector'))).toBe('SIGKILL');
    const survivor = startWorker();
    await approve(runId);
    await expectOneEmail(runId, email);
    const run = await t.app.engine.getRun(runId);
    expect(run?.steps.find((s) => s.name === 'evidence-collector')?.attempts).toBeGreaterThanOrEqual(2);
    await stop(survivor);
  });

  it('after an agent result was journaled but before the run was woken', async () => {
    const email = 'crash-journaled@example.com';
    const runId = await start(email);
    expect(await killedBy(startWorker('agent-journaled:dispute-manager'))).toBe('SIGKILL');
    const survivor = startWorker();
    await approve(runId);
    await expectOneEmail(runId, email);
    await stop(survivor);
  });

  it('after the reply was handed to SMTP but before the step was journaled: one email', async () => {
    const email = 'crash-smtp@example.com';
    const runId = await start(email);
    const doomed = startWorker('after-step:send-reply');
    await approve(runId);
    expect(await killedBy(doomed)).toBe('SIGKILL');
    expect(t.smtp.messages.filter((m) => m.to.includes(email))).toHaveLength(1);
    const survivor = startWorker();
    await expectOneEmail(runId, email);
    await stop(survivor);
  });

  it('after the outcome was recorded but before it was journaled', async () => {
    const email = 'crash-outcome@example.com';
    const runId = await start(email);
    const doomed = startWorker('after-step:record-outcome');
    await approve(runId);
    expect(await killedBy(doomed)).toBe('SIGKILL');
    const survivor = startWorker();
    await expectOneEmail(runId, email);
    expect(await t.app.outcomes.get(runId)).toMatchObject({ final: 'accept' });
    await stop(survivor);
  });

  it('drains in-flight jobs on SIGTERM instead of dropping them', async () => {
    const email = 'crash-sigterm@example.com';
    model.setLatency(1_500);
    const runId = await start(email);
    const worker = startWorker();
    await t.waitForRun(runId, (r) => r.steps.some((s) => s.status === 'running'), 30_000);
    worker.kill('SIGTERM');
    const [code] = (await once(worker, 'exit')) as [number | null];
    expect(code).toBe(0);
    const run = await t.app.engine.getRun(runId);
    const specialists = run?.steps.filter((s) => s.kind === 'agent') ?? [];
    expect(specialists.every((s) => s.status === 'completed')).toBe(true);
    model.setLatency(200);
    const survivor = startWorker();
    await approve(runId);
    await expectOneEmail(runId, email);
    await stop(survivor);
  });
});
