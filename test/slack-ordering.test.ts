import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './support/imap-app.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { appMention, eventCallback } from './support/slack-payloads.js';
import { watchSlackQueue } from './support/slack-queue.js';

/**
 * Slack promises no order between the `message` and `app_mention` deliveries of one mention in a thread, and
 * retries each (X-Slack-Retry-Num, same event_id) when it thinks we missed it. Whatever arrives, in whatever
 * order, the mention is answered exactly once. Everything goes through the signed /slack/events endpoint.
 */

let t: SlackTestApp;
let queue: ReturnType<typeof watchSlackQueue>;
const CHANNEL = 'CORDER';

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackorder' });
  t.slack.addChannel(CHANNEL, [PEOPLE.carol.id]);
  queue = watchSlackQueue(t.app.config.queuePrefix);
});
afterAll(async () => {
  await queue?.close();
  await t?.close();
});

let seq = 0;
/** A fresh thread: its root (a person's message, no mention) and the ts of the next reply in it. */
function newThread() {
  seq++;
  return {
    root: `1720000${String(seq).padStart(3, '0')}.000100`,
    reply: (n: number) => `1720000${String(seq).padStart(3, '0')}.00${200 + n}`,
  };
}

/** The two deliveries Slack makes for one message that mentions the bot in a thread. */
function mentionInThread(o: { threadTs: string; ts: string; text: string }) {
  const mention = appMention({ user: PEOPLE.carol.id, channel: CHANNEL, ts: o.ts, threadTs: o.threadTs, text: o.text });
  const { client_msg_id, ...rest } = mention;
  return {
    appMention: eventCallback(mention),
    message: eventCallback({ ...rest, client_msg_id, type: 'message', channel_type: 'channel' }),
  };
}

/** A plain reply in a thread (no mention): only a `message` delivery. */
function plainReply(o: { threadTs: string; ts: string; text: string; subtype?: string }) {
  return eventCallback({
    type: 'message',
    ...(o.subtype ? { subtype: o.subtype } : {}),
    user: PEOPLE.carol.id,
    text: o.text,
    ts: o.ts,
    thread_ts: o.threadTs,
    channel: CHANNEL,
    channel_type: 'channel',
  });
}

const complete = (email: string) =>
  `The customer with account <mailto:${email}|${email}> says they were charged twice for Pro: 49,00 € each, charge ch_1002. Please refund one.`;

const repliesIn = (threadTs: string) => t.slack.messagesIn(CHANNEL).filter((m) => m.threadTs === threadTs);

/** Nothing is left to happen: the slack queue is empty and no run of the thread is queued or running. */
async function settled(threadTs: string) {
  await queue.idle();
  await waitFor(
    'runs of the thread settled',
    async () =>
      (await t.app.store.runs.countDocuments({
        'source.key': { $in: [`${CHANNEL}:${threadTs}`, `intake:${CHANNEL}:${threadTs}`] },
        status: { $in: ['queued', 'running'] },
      })) === 0,
    90_000,
  );
}

async function expectAnsweredOnce(threadTs: string) {
  await t.slack.waitFor(() => repliesIn(threadTs).find((m) => m.text.includes('started the dispute')), 90_000);
  await settled(threadTs);
  expect(repliesIn(threadTs).filter((m) => m.text.includes('started the dispute'))).toHaveLength(1);
  expect(repliesIn(threadTs)).toHaveLength(1);
  const runs = await t.app.store.runs.find({ 'source.key': `${CHANNEL}:${threadTs}` }).lean();
  expect(runs.map((r) => r.workflow)).toEqual(['card-dispute']);
  const intake = await t.app.store.runs.find({ 'source.key': `intake:${CHANNEL}:${threadTs}` }).lean();
  expect(intake.map((r) => [r.workflow, r.status])).toEqual([['slack-intake', 'completed']]);
}

async function deliver(payloads: { body: object; retryNum?: number }[]) {
  for (const p of payloads) {
    const res = await t.event(p.body, p.retryNum === undefined ? {} : { retryNum: p.retryNum });
    expect(res.status).toBe(200);
  }
}

describe('a mention in a thread, delivered as message and app_mention', () => {
  it('is answered once when the message event comes first', async () => {
    const th = newThread();
    const d = mentionInThread({ threadTs: th.root, ts: th.reply(0), text: complete('msgfirst@example.com') });
    await deliver([{ body: d.message }, { body: d.appMention }]);
    await expectAnsweredOnce(th.root);
  });

  it('is answered once when the app_mention event comes first', async () => {
    const th = newThread();
    const d = mentionInThread({ threadTs: th.root, ts: th.reply(0), text: complete('mentionfirst@example.com') });
    await deliver([{ body: d.appMention }, { body: d.message }]);
    await expectAnsweredOnce(th.root);
  });

  it('is answered once through interleaved retries of both deliveries', async () => {
    const th = newThread();
    const d = mentionInThread({ threadTs: th.root, ts: th.reply(0), text: complete('retries@example.com') });
    await deliver([
      { body: d.message },
      { body: d.message, retryNum: 1 },
      { body: d.appMention },
      { body: d.message, retryNum: 2 },
      { body: d.appMention, retryNum: 1 },
      { body: d.appMention, retryNum: 2 },
    ]);
    await expectAnsweredOnce(th.root);
  });

  it('is answered once when every delivery and retry arrives at the same moment', async () => {
    const th = newThread();
    const d = mentionInThread({ threadTs: th.root, ts: th.reply(0), text: complete('concurrent@example.com') });
    const all = [d.message, d.appMention].flatMap((body) =>
      [undefined, 1, 2, 3].map((retryNum) => t.event(body, retryNum === undefined ? {} : { retryNum })),
    );
    const statuses = (await Promise.all(all)).map((r) => r.status);
    expect(statuses).toEqual(Array(8).fill(200));
    await expectAnsweredOnce(th.root);
  });

  it('ignores a message-only delivery that mentions nobody in a thread without a conversation', async () => {
    const th = newThread();
    await deliver([
      { body: plainReply({ threadTs: th.root, ts: th.reply(0), text: complete('chatter@example.com') }) },
    ]);
    await settled(th.root);
    expect(repliesIn(th.root)).toHaveLength(0);
    expect(await t.app.store.runs.countDocuments({ 'source.key': { $regex: th.root.replace('.', '\\.') } })).toBe(0);
  });
});

describe('a conversation in a thread', () => {
  it('asks once, and the answer starts the dispute once in any delivery order', async () => {
    const th = newThread();
    const first = mentionInThread({
      threadTs: th.root,
      ts: th.reply(0),
      text: 'Customer account order@example.com did not authorize the charge of $199 on their card last week.',
    });
    // The opening mention arrives message-first with retries; the question must still be asked exactly once.
    await deliver([{ body: first.message }, { body: first.appMention }, { body: first.message, retryNum: 1 }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('charge id')), 90_000);
    // The answer mentions the bot too, so it arrives twice again, app_mention last, plus a retry of the message.
    const answer = mentionInThread({ threadTs: th.root, ts: th.reply(1), text: 'It is ch_2001.' });
    await deliver([{ body: answer.message }, { body: answer.message, retryNum: 1 }, { body: answer.appMention }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('started the dispute')), 90_000);
    await settled(th.root);
    expect(repliesIn(th.root).map((m) => (m.text.includes('charge id') ? 'question' : 'started'))).toEqual([
      'question',
      'started',
    ]);
    const run = await t.app.store.runs.findOne({ 'source.key': `${CHANNEL}:${th.root}` }).lean();
    expect(run?.input).toMatchObject({ customerEmail: 'order@example.com', chargeId: 'ch_2001', amount: 199 });
  });

  it('takes a reply also sent to the channel (thread_broadcast) as the answer, but not an edit of it', async () => {
    const th = newThread();
    const first = mentionInThread({
      threadTs: th.root,
      ts: th.reply(0),
      text: 'Customer account broadcast@example.com did not authorize the charge of $199 on their card last week.',
    });
    await deliver([{ body: first.appMention }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('charge id')), 90_000);
    const edit = plainReply({ threadTs: th.root, ts: th.reply(1), text: 'It is ch_2001.', subtype: 'message_changed' });
    await deliver([{ body: edit }]);
    await settled(th.root);
    expect(repliesIn(th.root)).toHaveLength(1);
    const broadcast = plainReply({
      threadTs: th.root,
      ts: th.reply(2),
      text: 'It is ch_2001.',
      subtype: 'thread_broadcast',
    });
    await deliver([{ body: broadcast }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('started the dispute')), 90_000);
  });

  it('takes a plain reply (no mention) as the answer, and a later mention gets a pointer to the run', async () => {
    const th = newThread();
    const first = mentionInThread({
      threadTs: th.root,
      ts: th.reply(0),
      text: 'Customer account plain@example.com did not authorize the charge of $199 on their card last week.',
    });
    await deliver([{ body: first.appMention }, { body: first.message }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('charge id')), 90_000);
    const reply = plainReply({ threadTs: th.root, ts: th.reply(1), text: 'It is ch_2001.' });
    await deliver([{ body: reply }, { body: reply, retryNum: 1 }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('started the dispute')), 90_000);
    const again = mentionInThread({ threadTs: th.root, ts: th.reply(2), text: 'Did it start?' });
    await deliver([{ body: again.message }, { body: again.appMention }]);
    await t.slack.waitFor(() => repliesIn(th.root).find((m) => m.text.includes('already started')), 90_000);
    await settled(th.root);
    expect(repliesIn(th.root)).toHaveLength(3);
    expect(await t.app.store.runs.countDocuments({ 'source.key': `${CHANNEL}:${th.root}` })).toBe(1);
  });
});
