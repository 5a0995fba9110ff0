import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RefundRequestOutput } from '../agents/refunds/workflow.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

let t: TestApp;

beforeAll(async () => {
  // The deployment's own modules (compose.ts) in demo mode, without BILLING_API_URL: the module starts its
  // billing stand-in itself, as `npm run demo` does.
  delete process.env.BILLING_API_URL;
  delete process.env.BILLING_API_KEY;
  t = await startTestApp({ label: 'refund-demo', env: { COUNTERSIGN_DEMO: '1' } });
});
afterAll(async () => {
  await t?.close();
});

describe('refund-request in the demo', () => {
  it('offers its samples and pays through the stand-in the module started', async () => {
    const samples = t.app.demoSamples.filter((s) => s.workflow === 'refund-request');
    expect(samples.map((s) => s.label)).toEqual([
      'a small refund one lead approves',
      'a partial refund for lead and finance',
    ]);
    const res = await t.webhook('refund-request', samples[0]?.input);
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const waiting = await t.waitForRun(runId, hasPendingCheckpoint, 60_000);
    const decided = await t.api(`/api/checkpoints/${waiting.checkpoints[0]?.id}/decision`, {
      body: { decision: 'approve', actor: 'approver@example.com' },
    });
    expect(decided.status).toBe(200);
    const done = await t.waitForRun(runId, isFinished, 60_000);
    expect(done.status).toBe('completed');
    const output = done.output as RefundRequestOutput;
    expect(output).toMatchObject({ status: 'refunded', amount: 64 });
    expect(output.refundId).toMatch(/^re_[0-9a-f]{24}$/);
  });
});
