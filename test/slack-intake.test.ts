import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import {
  appMention,
  eventCallback,
  messageShortcut,
  slashCommand,
  urlVerification,
  viewSubmission,
} from './support/slack-payloads.js';

let t: SlackTestApp;
const SUPPORT = 'CSUPPORT';

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackintake' });
  t.slack.addChannel(SUPPORT, [PEOPLE.alice.id, PEOPLE.carol.id]);
});
afterAll(async () => {
  await t?.close();
});

const threadReplies = (threadTs: string) => t.slack.messagesIn(SUPPORT).filter((m) => m.threadTs === threadTs);
// Disputes started from Slack; each thread's `slack-intake` conversation run is counted apart.
const slackRuns = () => t.app.store.runs.countDocuments({ 'source.channel': 'slack', workflow: 'card-dispute' });

describe('starting work from Slack', () => {
  it('answers the Events API url_verification challenge', async () => {
    const res = await t.event(urlVerification('challenge-abc'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ challenge: 'challenge-abc' });
  });

  it('starts one run for a mention delivered twice (Events API retry with the same event_id)', async () => {
    const ts = '1710000001.000100';
    const event = eventCallback(
      appMention({
        user: PEOPLE.carol.id,
        channel: SUPPORT,
        ts,
        text: 'The customer with account <mailto:dup@example.com|dup@example.com> says they were charged twice for Pro: 49,00 € each, charge ch_1002. Please refund one.',
      }),
      'Ev0RETRY0001',
    );
    const before = await slackRuns();
    expect((await t.event(event)).status).toBe(200);
    expect((await t.event(event, { retryNum: 1 })).status).toBe(200);
    expect((await t.event(event, { retryNum: 2 })).status).toBe(200);
    const reply = await t.slack.waitFor(() => threadReplies(ts).find((m) => m.text.includes('started the dispute')));
    expect(reply.text).toContain('/api/runs/');
    expect(await slackRuns()).toBe(before + 1);
    expect(threadReplies(ts)).toHaveLength(1);
  });

  it('asks in the thread for what is missing, then starts the run from the reply', async () => {
    const ts = '1710000002.000100';
    await t.event(
      eventCallback(
        appMention({
          user: PEOPLE.carol.id,
          channel: SUPPORT,
          ts,
          text: 'Customer account ask@example.com did not authorize the charge of $199 on their card last week and wants it refunded.',
        }),
      ),
    );
    const question = await t.slack.waitFor(() => threadReplies(ts).find((m) => m.text.includes('charge id')));
    expect(question.text).toMatch(/still need/);
    const before = await slackRuns();
    await t.event(
      eventCallback({
        type: 'message',
        user: PEOPLE.carol.id,
        text: 'It is ch_2001.',
        ts: '1710000002.000200',
        thread_ts: ts,
        channel: SUPPORT,
        channel_type: 'channel',
      }),
    );
    await t.slack.waitFor(() => threadReplies(ts).find((m) => m.text.includes('started the dispute')));
    expect(await slackRuns()).toBe(before + 1);
    const run = await t.app.store.runs.findOne({ 'source.key': `${SUPPORT}:${ts}` }).lean();
    expect(run?.input).toMatchObject({
      customerEmail: 'ask@example.com',
      chargeId: 'ch_2001',
      amount: 199,
      currency: 'USD',
    });
  });

  it('opens a form from the workflow input schema on /countersign dispute and starts a run once it is valid', async () => {
    const res = await t.command(slashCommand({ user: PEOPLE.alice.id, channel: SUPPORT, text: 'dispute' }));
    expect(res.status).toBe(200);
    const open = await t.slack.waitFor(() =>
      t.slack
        .callsTo('views.open')
        .find((c) => (c.args.view as { callback_id: string }).callback_id === 'countersign.intake'),
    );
    const view = open.args.view as { private_metadata: string; blocks: { block_id: string }[] };
    expect(view.blocks.map((b) => b.block_id)).toEqual(
      expect.arrayContaining(['customerEmail', 'chargeId', 'amount', 'currency', 'reason', 'description']),
    );
    const d = SAMPLE_DISPUTES.needsReview;
    const values = (amount: string) => ({
      customerEmail: { value: { type: 'plain_text_input', value: 'form@example.com' } },
      chargeId: { value: { type: 'plain_text_input', value: d.chargeId } },
      amount: { value: { type: 'plain_text_input', value: amount } },
      currency: { value: { type: 'plain_text_input', value: d.currency } },
      reason: { value: { type: 'plain_text_input', value: d.reason } },
      description: { value: { type: 'plain_text_input', value: d.description } },
    });
    const submit = (amount: string) =>
      t.interact(
        viewSubmission({
          user: PEOPLE.alice.id,
          viewId: 'VFORM1',
          callbackId: 'countersign.intake',
          privateMetadata: view.private_metadata,
          values: values(amount),
        }),
      );
    const bad = (await (await submit('12,50')).json()) as { response_action: string; errors: Record<string, string> };
    expect(bad.response_action).toBe('errors');
    expect(Object.keys(bad.errors)).toEqual(['amount']);
    const good = (await (await submit(String(d.amount))).json()) as { response_action: string };
    expect(good.response_action).toBe('update');
    const run = await t.app.store.runs.findOne({ 'source.key': 'VFORM1' }).lean();
    expect(run?.input).toMatchObject({ customerEmail: 'form@example.com', chargeId: d.chargeId });
  });

  it('answers /countersign without a known word with help, in an ephemeral message', async () => {
    const res = await t.command(slashCommand({ user: PEOPLE.alice.id, channel: SUPPORT, text: '' }));
    expect(await res.json()).toMatchObject({ response_type: 'ephemeral' });
  });

  it('turns a message into a prefilled dispute form with the message shortcut', async () => {
    const text =
      'Hi, my card was charged for ch_3001 but I never got what I paid for. Contact me at shortcut@example.com';
    const res = await t.interact(
      messageShortcut({ user: PEOPLE.alice.id, channel: SUPPORT, text, ts: '1710000003.000100', author: 'UCUSTOMER' }),
    );
    expect(res.status).toBe(200);
    const open = await t.slack.waitFor(() =>
      t.slack.callsTo('views.open').find((c) => JSON.stringify(c.args.view).includes('shortcut@example.com')),
    );
    const blocks = (open.args.view as { blocks: { block_id: string; element: { initial_value?: string } }[] }).blocks;
    const initial = Object.fromEntries(blocks.map((b) => [b.block_id, b.element.initial_value]));
    expect(initial).toMatchObject({ chargeId: 'ch_3001', customerEmail: 'shortcut@example.com', description: text });
  });

  it('publishes App Home with the checkpoints waiting for me and what I decided', async () => {
    const { checkpoint } = await t.startDispute({ ...SAMPLE_DISPUTES.needsReview, customerEmail: 'home@example.com' });
    await t.event(eventCallback({ type: 'app_home_opened', user: PEOPLE.alice.id, channel: 'DHOME', tab: 'home' }));
    const published = await t.slack.waitFor(() =>
      t.slack
        .callsTo('views.publish')
        .find((c) => c.args.user_id === PEOPLE.alice.id && JSON.stringify(c.args.view).includes(checkpoint._id)),
    );
    expect(JSON.stringify(published.args.view)).toContain('countersign.approve');
    await t.event(eventCallback({ type: 'app_home_opened', user: PEOPLE.mallory.id, channel: 'DHOME2', tab: 'home' }));
    const outsider = await t.slack.waitFor(() =>
      t.slack.callsTo('views.publish').find((c) => c.args.user_id === PEOPLE.mallory.id),
    );
    expect(JSON.stringify(outsider.args.view)).not.toContain(checkpoint._id);
  });
});
