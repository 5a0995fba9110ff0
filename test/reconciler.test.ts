import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ label: 'reconcile', settings: { reconcileGraceMs: 0 } });
});
afterAll(async () => {
  await t?.close();
});

/** Deletes every key of this app's queues: what Redis losing its data looks like to us. */
async function flushOurRedisKeys() {
  const redis = t.app.deps.queues.connection;
  const prefix = t.app.config.queuePrefix;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

async function start(customerEmail: string) {
  const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail });
  return ((await res.json()) as { runId: string }).runId;
}

async function approveWhenPending(runId: string) {
  const run = await t.waitForRun(runId, hasPendingCheckpoint, 60_000);
  const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, { body: { decision: 'approve' } });
  expect(res.status).toBe(200);
}

describe('when Redis loses the queues', () => {
  it('recovers runs that were waiting for a person and runs whose agents were working', async () => {
    const waiting = [await start('flush-wait-1@example.com'), await start('flush-wait-2@example.com')];
    for (const id of waiting) await t.waitForRun(id, hasPendingCheckpoint);

    t.app.offlineModel?.setLatency(1_500);
    const working = [await start('flush-work-1@example.com'), await start('flush-work-2@example.com')];
    for (const id of working) await t.waitForRun(id, (r) => r.steps.some((s) => s.status === 'running'));
    expect(await flushOurRedisKeys()).toBeGreaterThan(0);
    t.app.offlineModel?.setLatency(0);

    for (const id of [...waiting, ...working]) await approveWhenPending(id);
    for (const id of [...waiting, ...working]) {
      expect((await t.waitForRun(id, isFinished, 60_000)).status).toBe('completed');
    }
    for (const email of ['flush-wait-1', 'flush-wait-2', 'flush-work-1', 'flush-work-2']) {
      expect(t.smtp.messages.filter((m) => m.to.includes(`${email}@example.com`))).toHaveLength(1);
    }
  });

  it('starts a run whose first job was lost before any worker saw it', async () => {
    await t.workers?.close();
    const runId = await start('flush-queued@example.com');
    expect((await t.app.engine.getRun(runId))?.status).toBe('queued');
    expect(await flushOurRedisKeys()).toBeGreaterThan(0);
    t.workers = t.app.startWorkers();
    await approveWhenPending(runId);
    expect((await t.waitForRun(runId, isFinished, 60_000)).status).toBe('completed');
  });
});
