import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { APPROVALS, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { register, signOffWorkflow } from './support/slack-workflows.js';

let t: SlackTestApp;

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackout' });
  t.slack.addChannel('CNOTIN', [], false);
  register(t.app, signOffWorkflow('slack-out-nowhere', { approvers: { slackChannels: ['CNOTIN', 'CGONE'] } }));
});
afterAll(async () => {
  await t?.close();
});

const slackErrors = async (checkpointId: string) =>
  ((await t.app.engine.getCheckpoint(checkpointId))?.audit ?? []).filter((a) => a.outcome === 'slack_error');

async function waitForErrors(checkpointId: string, count: number) {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const errors = await slackErrors(checkpointId);
    if (errors.length >= count || Date.now() > deadline) return errors;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('what Slack refuses is reported on the run', () => {
  it('records invalid_blocks on the checkpoint and still gets a shortened card with buttons out', async () => {
    t.slack.failNext('chat.postMessage', 'invalid_blocks', { when: (a) => a.channel === APPROVALS });
    const { checkpoint } = await t.startDispute({
      ...SAMPLE_DISPUTES.needsReview,
      customerEmail: 'blocks@example.com',
    });
    const [error] = await waitForErrors(checkpoint._id, 1);
    expect(error).toMatchObject({ actor: 'slack', channel: 'slack', outcome: 'slack_error' });
    expect(error?.detail).toContain('invalid_blocks');
    expect(error?.detail).toContain(APPROVALS);
    const card = await t.card(checkpoint._id);
    expect(JSON.stringify(t.slack.messages.get(`${card.channel}:${card.ts}`)?.blocks)).toContain('countersign.approve');
    const stored = await t.app.store.connection.db
      ?.collection('slack_errors')
      .findOne({ checkpointId: checkpoint._id });
    expect(stored).toMatchObject({ error: 'invalid_blocks', method: 'chat.postMessage', runId: checkpoint.runId });
  });

  it('reports not_in_channel and channel_not_found instead of swallowing them', async () => {
    const { runId } = await t.app.engine.startRun({
      workflow: 'slack-out-nowhere',
      input: { title: 'Nowhere' },
      source: { channel: 'api' },
    });
    const run = await t.waitForRun(runId, (r) => r.checkpoints.length > 0);
    const errors = await waitForErrors(run.checkpoints[0]?.id ?? '', 2);
    const details = errors.map((e) => e.detail).join('\n');
    expect(details).toContain('not_in_channel');
    expect(details).toContain('channel_not_found');
  });

  it('waits for Retry-After on a 429 and then posts the card', async () => {
    t.slack.rateLimitNext('chat.postMessage', 1);
    const before = t.slack.callsTo('chat.postMessage').length;
    const { checkpoint } = await t.startDispute({
      ...SAMPLE_DISPUTES.needsReview,
      customerEmail: 'ratelimit@example.com',
    });
    await t.card(checkpoint._id);
    const posts = t.slack
      .callsTo('chat.postMessage')
      .slice(before)
      .filter((c) => c.args.channel === APPROVALS && JSON.stringify(c.args.blocks ?? '').includes(checkpoint._id));
    expect(posts).toHaveLength(2); // the 429, then the same card once Retry-After passed
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(await slackErrors(checkpoint._id)).toEqual([]);
  });
});

describe('outbound pacing', () => {
  it('sends at most about one message per second to one channel', async () => {
    const channel = t.app.config.slack.approvalsChannel ?? APPROVALS;
    const outbox = (await import('../src/channels/slack/outbox.js')).createOutbox;
    const { webApi } = await import('@slack/bolt');
    const web = new webApi.WebClient('xoxb-test-0000-countersign', { slackApiUrl: t.slack.url });
    const { Redis } = await import('ioredis');
    const redis = new Redis(t.app.config.redisUrl);
    try {
      const box = outbox({ web, redis, keyPrefix: `${t.app.config.queuePrefix}-pace`, logger: t.app.logger });
      const { z } = await import('zod');
      const before = t.slack.callsTo('chat.postMessage').length;
      await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          box.call('chat.postMessage', { channel, text: `paced ${i}` }, z.unknown(), channel),
        ),
      );
      const at = t.slack
        .callsTo('chat.postMessage')
        .slice(before)
        .map((c) => c.at)
        .sort((a, b) => a - b);
      expect(at).toHaveLength(4);
      expect((at[3] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(2_900);
    } finally {
      redis.disconnect();
    }
  });
});
