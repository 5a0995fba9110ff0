import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isFinished } from './support/app.js';
import { fakeClock, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { blockActions } from './support/slack-payloads.js';
import { register, signOffWorkflow } from './support/slack-workflows.js';

let t: SlackTestApp;
const clock = fakeClock();
const FIVE = ['UQ1', 'UQ2', 'UQ3', 'UQ4', 'UQ5'];
const ESCALATIONS = 'CESCALATE';
const HOUR = 3600_000;

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackquorum', clock });
  for (const id of FIVE) t.slack.addUser({ id, email: `${id.toLowerCase()}@example.com`, name: id });
  t.slack.addChannel(ESCALATIONS, []);
  register(
    t.app,
    signOffWorkflow('slack-quorum', { approvers: { slackUsers: FIVE }, quorum: { mode: 'count', required: 3 } }),
  );
  register(
    t.app,
    signOffWorkflow('slack-timers', {
      approvers: { slackUsers: ['UQ1'] },
      reminders: { everyMs: HOUR, max: 2 },
      timeout: {
        afterMs: 4 * HOUR,
        action: 'escalate',
        escalateTo: { slackUsers: ['UMANAGER'], slackChannels: [ESCALATIONS] },
      },
    }),
  );
});
afterAll(async () => {
  await t?.close();
});

async function start(workflow: string, title: string) {
  const { runId } = await t.app.engine.startRun({ workflow, input: { title }, source: { channel: 'api' } });
  const run = await t.waitForRun(runId, (r) => r.checkpoints.some((c) => c.status === 'pending'));
  const checkpointId = run.checkpoints[0]?.id ?? '';
  return { runId, checkpointId, card: await t.card(checkpointId) };
}

const text = (channel: string, ts: string) => JSON.stringify(t.slack.messages.get(`${channel}:${ts}`)?.blocks ?? []);
const approve = (user: string, cp: string, card: { channel: string; ts: string }) =>
  t.interact(
    blockActions({ user, actionId: 'countersign.approve', value: cp, channel: card.channel, messageTs: card.ts }),
  );

describe('quorum, reminders and escalation in Slack', () => {
  it('needs 3 of 5 named approvers, shows partial approvals on every copy, then decides on the third', async () => {
    const { runId, checkpointId, card } = await start('slack-quorum', 'Refund over the limit');
    // Each named approver got the card by DM too.
    for (const id of FIVE) await t.card(checkpointId, t.slack.dmOf(id));

    await approve('UQ1', checkpointId, card);
    await t.slack.waitFor(() => text(card.channel, card.ts).includes('1 of 3 approvals: <@UQ1>'));
    await approve('UQ2', checkpointId, card);
    await t.slack.waitFor(() => text(card.channel, card.ts).includes('2 of 3 approvals: <@UQ1>, <@UQ2>'));
    const dm = await t.card(checkpointId, t.slack.dmOf('UQ4'));
    await t.slack.waitFor(() => text(dm.channel, dm.ts).includes('2 of 3 approvals'));
    expect((await t.app.engine.getCheckpoint(checkpointId))?.status).toBe('pending');

    await approve('UQ3', checkpointId, card);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decision: 'approve', actor: 'uq3@example.com' });
    const cp = await t.app.engine.getCheckpoint(checkpointId);
    expect(cp?.approvals.map((a) => a.actor)).toEqual(['uq1@example.com', 'uq2@example.com', 'uq3@example.com']);
    await t.slack.waitFor(() => text(dm.channel, dm.ts).includes('Approved'));
  });

  it('does not count the same person twice toward the quorum', async () => {
    const { checkpointId, card } = await start('slack-quorum', 'Double click');
    await approve('UQ1', checkpointId, card);
    await t.slack.waitFor(() => text(card.channel, card.ts).includes('1 of 3 approvals'));
    await approve('UQ1', checkpointId, card);
    await t.slack.waitFor(() =>
      t.slack
        .callsTo('chat.postEphemeral')
        .find((c) => c.args.user === 'UQ1' && String(c.args.text).includes('already approved')),
    );
    expect((await t.app.engine.getCheckpoint(checkpointId))?.approvals).toHaveLength(1);
  });

  it('reminds in the card thread and by DM, then escalates to the manager and a channel, on a fake clock', async () => {
    const { runId, checkpointId, card } = await start('slack-timers', 'Waiting too long');
    clock.advance(HOUR + 60_000);
    await t.workers?.reconcileNow();
    const reminder = await t.slack.waitFor(() =>
      t.slack.messagesIn(card.channel).find((m) => m.threadTs === card.ts && m.text.includes('Reminder 1')),
    );
    expect(reminder.text).toContain('Waiting too long');
    await t.slack.waitFor(() => t.slack.messagesIn(t.slack.dmOf('UQ1')).find((m) => m.text.includes('Reminder 1')));
    await t.slack.waitFor(() => text(card.channel, card.ts).includes('1 reminder sent'));

    clock.advance(4 * HOUR);
    await t.workers?.reconcileNow();
    const escalated = await t.slack.waitFor(() =>
      t.slack.messagesIn(ESCALATIONS).find((m) => m.text.includes('Escalated')),
    );
    expect(escalated.text).toContain('Waiting too long');
    const managerCard = await t.card(checkpointId, t.slack.dmOf('UMANAGER'));
    await t.slack.waitFor(() => text(card.channel, card.ts).includes('Escalated'));
    // Taken once: another sweep finds nothing more to do.
    await t.workers?.reconcileNow();
    const cp = await t.app.engine.getCheckpoint(checkpointId);
    expect(cp?.audit.filter((a) => a.outcome === 'escalated')).toHaveLength(1);

    // The manager may now decide from their copy; every copy follows.
    await approve('UMANAGER', checkpointId, managerCard);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decision: 'approve', actor: 'manager@example.com' });
    await t.slack.waitFor(() => text(card.channel, card.ts).includes('Approved'));
    expect(t.slack.messagesIn(ESCALATIONS).filter((m) => m.text.includes('Escalated'))).toHaveLength(1);
  });
});
