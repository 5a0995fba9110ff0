import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { APPROVER, hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { writeSettingsFile } from './support/refund-app.js';
import { fakeClock } from './support/slack-app.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const clock = fakeClock();
let t: TestApp;

/**
 * A card dispute's checkpoint takes its reminders and timeout from the configuration: the file's
 * `workflows.card-dispute` over the CHECKPOINT_* defaults, like every other workflow's checkpoint.
 */
beforeAll(async () => {
  t = await startTestApp({
    label: 'disputetimers',
    clock,
    env: {
      COUNTERSIGN_CONFIG: writeSettingsFile('dispute-timers', {
        workflows: { 'card-dispute': { timeout: { afterHours: 2, action: 'reject' } } },
      }),
      // The defaults the file leaves in force (reminders) and those it overrides (the timeout).
      CHECKPOINT_REMINDER_MINUTES: '30',
      CHECKPOINT_REMINDERS: '1',
      CHECKPOINT_TIMEOUT_HOURS: '48',
      CHECKPOINT_TIMEOUT_ACTION: 'escalate',
    },
  });
});
afterAll(async () => {
  await t?.close();
});

/** A dispute that needs a person; the name sets it apart in the checkpoint's title (and so in its mail). */
async function pendingDispute(customerName: string, customerEmail: string) {
  const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerName, customerEmail });
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  const run = await t.waitForRun(runId, hasPendingCheckpoint);
  const checkpoint = await t.app.engine.getCheckpoint(run.checkpoints[0]?.id ?? '');
  if (!checkpoint) throw new Error(`run ${runId} has no checkpoint document`);
  return { runId, checkpoint };
}

describe('card-dispute checkpoint timers from the configuration', () => {
  it("sets the file's timeout and the env's reminders on the checkpoint", async () => {
    const { checkpoint } = await pendingDispute('Tess Timers', 'timers@example.com');
    const created = new Date(checkpoint.createdAt).getTime();
    const timers = checkpoint.timers;
    expect(timers?.timeoutAction).toBe('reject');
    expect(new Date(timers?.timeoutAt ?? 0).getTime() - created).toBe(2 * HOUR);
    expect(timers?.remindEveryMs).toBe(30 * MINUTE);
    expect(timers?.remindMax).toBe(1);
    expect(new Date(timers?.nextReminderAt ?? 0).getTime() - created).toBe(30 * MINUTE);
    // The reconciler finds it by the indexed next due time: the first reminder.
    expect(new Date(timers?.dueAt ?? 0).getTime() - created).toBe(30 * MINUTE);
  });

  it('reminds the approvers, then rejects on timeout: escalated, and the customer gets nothing', async () => {
    const customer = 'timeout@example.com';
    const { runId, checkpoint } = await pendingDispute('Tim Outlaw', customer);
    const about = (subject: string) => subject.includes('Tim Outlaw');

    clock.advance(30 * MINUTE + MINUTE);
    await t.workers?.reconcileNow();
    await t.smtp.waitFor((m) => m.to.includes(APPROVER) && m.subject.startsWith('Reminder:') && about(m.subject));

    clock.advance(2 * HOUR);
    await t.workers?.reconcileNow();
    const done = await t.waitForRun(runId, isFinished);
    expect(done.status).toBe('completed');
    expect(done.output).toMatchObject({ outcome: 'escalated', decidedBy: 'timeout', replySent: false });
    const decided = await t.app.engine.getCheckpoint(checkpoint._id);
    expect(decided?.status).toBe('rejected');
    expect(decided?.timers?.timeoutFired).toBe(true);
    expect(t.smtp.messages.filter((m) => m.to.includes(customer))).toHaveLength(0);
  });
});
