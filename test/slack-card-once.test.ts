import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { SlackMessageDoc } from '../src/channels/slack/collections.js';
import { hasPendingCheckpoint, startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/imap-app.js';
import { APPROVALS, PEOPLE, SIGNING_SECRET } from './support/slack-app.js';
import { BOT_TOKEN, type SlackStandin, startSlackStandin } from './support/slack-standin.js';
import { killedBy, stopWorker, workerProcesses } from './support/worker-process.js';

/**
 * A worker that dies after Slack accepted a card but before the card's ts was recorded must not leave the next
 * worker to post a second card: the retry finds the first one by its message metadata and adopts it.
 */

let t: TestApp;
let slack: SlackStandin;
const workers = workerProcesses(() => t.env);

beforeAll(async () => {
  slack = await startSlackStandin();
  for (const p of Object.values(PEOPLE)) slack.addUser(p);
  slack.addChannel(APPROVALS, [PEOPLE.alice.id, PEOPLE.carol.id]);
  t = await startTestApp({
    label: 'cardonce',
    workers: false,
    env: {
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slack.url,
      SLACK_APPROVALS_CHANNEL: APPROVALS,
    },
  });
});
afterAll(async () => {
  workers.killAll();
  await t?.close();
  await slack?.close();
});

const copies = () => t.app.store.connection.collection<SlackMessageDoc>('slack_messages');
/** Top-level messages in the approvals channel that are a card of `checkpointId`, whatever state it shows. */
const cardsOf = (checkpointId: string) =>
  slack
    .messagesIn(APPROVALS)
    .filter(
      (m) =>
        !m.threadTs &&
        (m.metadata?.event_payload.checkpoint_id === checkpointId || JSON.stringify(m.blocks).includes(checkpointId)),
    );

/** Starts a dispute and lets a worker die right after Slack accepted its card; returns the checkpoint id. */
async function crashAfterPost(customerEmail: string): Promise<string> {
  const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail });
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  expect(await killedBy(workers.start('after-slack-post:channel'))).toBe('SIGKILL');
  // The card job runs beside the pass that created the checkpoint, so on a busy machine the kill may also cut that
  // pass short of recording the run `waiting`; the survivor's reconciler finishes it. This is about the card.
  const run = await t.waitForRun(runId, (r) => r.checkpoints.some((c) => c.status === 'pending'), 60_000);
  const checkpointId = run.checkpoints[0]?.id ?? '';
  expect(cardsOf(checkpointId)).toHaveLength(1);
  // The window this is about: Slack has the card, our record of it has no ts.
  expect(await copies().findOne({ _id: `${checkpointId}:${APPROVALS}` })).toMatchObject({ ts: '' });
  return checkpointId;
}

async function adoptedTs(checkpointId: string): Promise<string> {
  const copy = await waitFor(
    'the card copy to be recorded',
    async () => {
      const doc = await copies().findOne({ _id: `${checkpointId}:${APPROVALS}` });
      return doc?.ts ? doc : undefined;
    },
    60_000,
  );
  return copy.ts;
}

describe('a worker killed between chat.postMessage and recording the ts', () => {
  it('leaves one card, which the next worker adopts and a later decision updates in place', async () => {
    const checkpointId = await crashAfterPost('card-once@example.com');
    const [card] = cardsOf(checkpointId);
    expect(card?.metadata).toEqual({
      event_type: 'countersign_checkpoint',
      event_payload: { checkpoint_id: checkpointId, copy_id: `${checkpointId}:${APPROVALS}` },
    });
    const survivor = workers.start();
    try {
      expect(await adoptedTs(checkpointId)).toBe(card?.ts);
      const lookups = slack.callsTo('conversations.history').filter((c) => c.args.channel === APPROVALS);
      expect(lookups.length).toBeGreaterThanOrEqual(1);
      expect(String(lookups[0]?.args.include_all_metadata)).toBe('true');
      expect(Number(lookups[0]?.args.oldest)).toBeLessThan(Number(card?.ts));

      const decided = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
        body: { decision: 'approve', actor: 'lead@example.com' },
      });
      expect(decided.status).toBe(200);
      await slack.waitFor(() => (card && card.updates > 0 ? card : undefined), 60_000);
      expect(cardsOf(checkpointId)).toHaveLength(1);
      expect(JSON.stringify(card?.blocks)).not.toContain('countersign.approve');
    } finally {
      await stopWorker(survivor);
    }
  }, 180_000);

  it('still adopts the card when the history lookup is rate-limited once', async () => {
    const checkpointId = await crashAfterPost('card-once-429@example.com');
    const [card] = cardsOf(checkpointId);
    const before = slack.callsTo('conversations.history').length;
    slack.rateLimitNext('conversations.history', 1);
    const survivor = workers.start();
    try {
      expect(await adoptedTs(checkpointId)).toBe(card?.ts);
      const lookups = slack.callsTo('conversations.history').slice(before);
      expect(lookups.length).toBeGreaterThanOrEqual(2); // the 429, then the same page after Retry-After
      expect((lookups[1]?.at ?? 0) - (lookups[0]?.at ?? 0)).toBeGreaterThanOrEqual(1_000);
      expect(cardsOf(checkpointId)).toHaveLength(1);
    } finally {
      await stopWorker(survivor);
    }
  }, 180_000);

  it('posts the card once on the retry when the first attempt never reached Slack', async () => {
    slack.failNext('chat.postMessage', 'internal_error', { when: (a) => a.channel === APPROVALS });
    const before = slack.callsTo('conversations.history').length;
    const worker = workers.start();
    try {
      const res = await t.webhook('card-dispute', {
        ...SAMPLE_DISPUTES.needsReview,
        customerEmail: 'card-once-unsent@example.com',
      });
      const { runId } = (await res.json()) as { runId: string };
      const run = await t.waitForRun(runId, hasPendingCheckpoint, 60_000);
      const checkpointId = run.checkpoints[0]?.id ?? '';
      const ts = await adoptedTs(checkpointId);
      const posts = slack
        .callsTo('chat.postMessage')
        .filter(
          (c) => (c.args.metadata as { event_payload?: { checkpoint_id?: string } })?.event_payload?.checkpoint_id,
        )
        .filter((c) => JSON.stringify(c.args.metadata).includes(checkpointId));
      expect(posts).toHaveLength(2); // refused with internal_error, then posted by the retried job
      expect(slack.callsTo('conversations.history').length).toBeGreaterThan(before);
      expect(cardsOf(checkpointId).map((m) => m.ts)).toEqual([ts]);
    } finally {
      await stopWorker(worker);
    }
  }, 180_000);
});
