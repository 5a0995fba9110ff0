import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REFUND_SHORTCUT } from '../agents/refunds/module.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import type { RefundRequestOutput } from '../agents/refunds/workflow.js';
import { hasPendingCheckpoint, isFinished } from './support/app.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { messageShortcut, slashCommand, viewSubmission } from './support/slack-payloads.js';

let t: SlackTestApp;
const SUPPORT = 'CSUPPORT';

beforeAll(async () => {
  // The deployment's own module list (compose.ts): disputes and refunds side by side.
  t = await startSlackTestApp({ label: 'refundslack' });
  t.slack.addChannel(SUPPORT, [PEOPLE.alice.id, PEOPLE.carol.id]);
});
afterAll(async () => {
  await t?.close();
});

type ModalView = {
  callback_id: string;
  private_metadata: string;
  title: { text: string };
  blocks: { block_id: string; element: { initial_value?: string } }[];
};

describe('refund requests from Slack', () => {
  it('/countersign refund opens a form built from the input schema; the requester hears the outcome in a DM', async () => {
    const res = await t.command(slashCommand({ user: PEOPLE.carol.id, channel: SUPPORT, text: 'refund' }));
    expect(res.status).toBe(200);
    const open = await t.slack.waitFor(() =>
      t.slack.callsTo('views.open').find((c) => (c.args.view as ModalView).title.text === 'Request a refund'),
    );
    const view = open.args.view as ModalView;
    expect(view.blocks.map((b) => b.block_id)).toEqual(
      expect.arrayContaining(['customerEmail', 'amount', 'currency', 'reason', 'requestedBy', 'orderId']),
    );
    const sample = SAMPLE_REFUNDS.deny;
    const values = (currency: string) => ({
      customerEmail: { value: { type: 'plain_text_input', value: sample.customerEmail } },
      amount: { value: { type: 'plain_text_input', value: sample.amount } },
      currency: { value: { type: 'plain_text_input', value: currency } },
      reason: { value: { type: 'plain_text_input', value: sample.reason } },
      requestedBy: { value: { type: 'plain_text_input', value: PEOPLE.carol.id } },
      orderId: { value: { type: 'plain_text_input', value: sample.orderId } },
    });
    const submit = (currency: string) =>
      t.interact(
        viewSubmission({
          user: PEOPLE.carol.id,
          viewId: 'VREFUND1',
          callbackId: view.callback_id,
          privateMetadata: view.private_metadata,
          values: values(currency),
        }),
      );
    // Refused in the module's own words, next to the field.
    const bad = (await (await submit('dollars')).json()) as { response_action: string; errors: Record<string, string> };
    expect(bad).toEqual({
      response_action: 'errors',
      errors: { currency: 'Use a three-letter ISO 4217 code like EUR, USD or GBP' },
    });
    expect(((await (await submit('usd')).json()) as { response_action: string }).response_action).toBe('update');

    const started = await t.app.store.runs.findOne({ 'source.key': 'VREFUND1' }).lean();
    expect(started).toMatchObject({ workflow: 'refund-request', input: { currency: 'USD', amount: 72 } });
    const runId = started?._id ?? '';
    const waiting = await t.waitForRun(runId, hasPendingCheckpoint);
    const checkpoint = waiting.checkpoints[0]?.id;
    // Without approver groups in the configuration, the default approvers decide (72 is one stage).
    const decided = await t.api(`/api/checkpoints/${checkpoint}/decision`, {
      decision: 'approve',
      actor: PEOPLE.alice.email,
    });
    expect(decided.status).toBe(200);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output as RefundRequestOutput).toMatchObject({ status: 'denied', requesterTold: 'slack' });
    const dm = await t.slack.waitFor(() =>
      t.slack.messagesIn(`D${PEOPLE.carol.id}`).find((m) => m.text.includes('rex@')),
    );
    expect(dm.text).toContain('Refund denied');
    expect(dm.text).toContain(runId);
    await t.smtp.waitFor((m) => m.to.includes('rex@example.com'));
  });

  it('the message shortcut turns a customer message into a prefilled refund form', async () => {
    const text = 'Hello, this is tom@example.com: the espresso machine from ord_5201 stopped heating. I paid £380.00.';
    const res = await t.interact({
      ...messageShortcut({
        user: PEOPLE.carol.id,
        channel: SUPPORT,
        text,
        ts: '1710000009.000100',
        author: 'UCUSTOMER',
      }),
      callback_id: REFUND_SHORTCUT,
    });
    expect(res.status).toBe(200);
    const open = await t.slack.waitFor(() =>
      t.slack.callsTo('views.open').find((c) => JSON.stringify(c.args.view).includes('ord_5201')),
    );
    const view = open.args.view as ModalView;
    expect(view.title.text).toBe('Request a refund');
    const initial = Object.fromEntries(view.blocks.map((b) => [b.block_id, b.element.initial_value]));
    expect(initial).toMatchObject({
      customerEmail: 'tom@example.com',
      orderId: 'ord_5201',
      amount: '380.00',
      reason: text,
    });
  });
});
