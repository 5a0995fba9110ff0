import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { approvalLink } from '../src/approvals/tokens.js';
import { isFinished } from './support/app.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { blockActions, viewClosed, viewSubmission } from './support/slack-payloads.js';

let t: SlackTestApp;

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackdecide' });
});
afterAll(async () => {
  await t?.close();
});

let n = 0;
/** A fresh dispute (its own customer, so runs never share mail) waiting at its checkpoint, with its card posted. */
async function pendingCard() {
  n++;
  const input = { ...SAMPLE_DISPUTES.needsReview, customerEmail: `slack-${n}@example.com`, customerName: `Case ${n}` };
  const { runId, checkpoint } = await t.startDispute(input);
  const card = await t.card(checkpoint._id);
  return { runId, checkpoint, card, customer: input.customerEmail };
}

const click = (user: string, action: string, cp: string, card: { channel: string; ts: string }) =>
  t.interact(
    blockActions({ user, actionId: `countersign.${action}`, value: cp, channel: card.channel, messageTs: card.ts }),
  );

const cardText = (channel: string, ts: string) =>
  JSON.stringify(t.slack.messages.get(`${channel}:${ts}`)?.blocks ?? []);

const ephemeralsTo = (user: string) =>
  t.slack
    .callsTo('chat.postEphemeral')
    .filter((c) => c.args.user === user)
    .map((c) => String(c.args.text));

describe('deciding a checkpoint from its Slack card', () => {
  it('posts a card with the evidence, the proposal and three buttons carrying only the checkpoint id', async () => {
    const { checkpoint, card } = await pendingCard();
    const text = cardText(card.channel, card.ts);
    expect(text).toContain('Evidence (evidence-collector)');
    expect(text).toContain('Account risk (account-risk)');
    expect(text).toContain('Proposed outcome');
    const buttons = (t.slack.messages.get(`${card.channel}:${card.ts}`)?.blocks ?? []).flatMap((b) =>
      (b as { type: string; elements?: { action_id?: string; value?: string }[] }).type === 'actions'
        ? ((b as { elements: { action_id: string; value: string }[] }).elements ?? [])
        : [],
    );
    expect(buttons.map((b) => b.action_id)).toEqual(['countersign.approve', 'countersign.reject', 'countersign.edit']);
    expect(new Set(buttons.map((b) => b.value))).toEqual(new Set([checkpoint._id]));
  });

  it('approves on a click, the run goes on, and the card shows who approved without buttons', async () => {
    const { runId, checkpoint, card, customer } = await pendingCard();
    const res = await click(PEOPLE.alice.id, 'approve', checkpoint._id, card);
    expect(res.status).toBe(200);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decidedBy: PEOPLE.alice.email, channel: 'slack', replySent: true });
    await t.smtp.waitFor((m) => m.to.includes(customer));
    await t.slack.waitFor(() => cardText(card.channel, card.ts).includes('Approved'));
    const text = cardText(card.channel, card.ts);
    expect(text).toContain(`<@${PEOPLE.alice.id}>`);
    expect(text).not.toContain('countersign.approve');
  });

  it('rejects on a click (behind a confirm dialog) and the workflow takes its reject path', async () => {
    const { runId, checkpoint, card } = await pendingCard();
    const blocks = (t.slack.messages.get(`${card.channel}:${card.ts}`)?.blocks ?? []) as {
      elements?: { action_id?: string; confirm?: unknown }[];
    }[];
    const reject = blocks.flatMap((b) => b.elements ?? []).find((e) => e.action_id === 'countersign.reject');
    expect(reject?.confirm).toBeDefined();
    await click(PEOPLE.alice.id, 'reject', checkpoint._id, card);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ outcome: 'escalated', replySent: false, channel: 'slack' });
    await t.slack.waitFor(() => cardText(card.channel, card.ts).includes('Rejected'));
  });

  it('opens the edit modal, shows validation errors in it, then approves with the edits and records the diff', async () => {
    const { runId, checkpoint, card } = await pendingCard();
    await click(PEOPLE.alice.id, 'edit', checkpoint._id, card);
    const open = await t.slack.waitFor(() => t.slack.callsTo('views.open').at(-1));
    const view = open.args.view as { callback_id: string; private_metadata: string; blocks: { block_id?: string }[] };
    expect(view.callback_id).toBe('countersign.edit');
    expect(view.blocks.map((b) => b.block_id)).toEqual(expect.arrayContaining(['outcome', 'reply']));

    const submit = (reply: string) =>
      t.interact(
        viewSubmission({
          user: PEOPLE.alice.id,
          callbackId: 'countersign.edit',
          privateMetadata: view.private_metadata,
          values: {
            outcome: { value: { type: 'static_select', selected_option: { value: 'accept' } } },
            reply: { value: { type: 'plain_text_input', value: reply } },
          },
        }),
      );
    const bad = await submit('Too short');
    expect(bad.status).toBe(200);
    const errors = (await bad.json()) as { response_action: string; errors: Record<string, string> };
    expect(errors.response_action).toBe('errors');
    expect(errors.errors.reply).toMatch(/20/);
    expect((await t.app.engine.getCheckpoint(checkpoint._id))?.status).toBe('pending');

    const edited = 'Dear customer, we looked again and will refund the full amount within five days.';
    const good = await submit(edited);
    expect(((await good.json()) as { response_action: string }).response_action).toBe('update');
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ outcome: 'accept', decidedBy: PEOPLE.alice.email });
    expect(done.checkpoints[0]?.decision?.diff.map((d) => d.field)).toContain('reply');
    await t.slack.waitFor(() => cardText(card.channel, card.ts).includes('Changed before deciding'));
  });

  it('brings the card in line when the decision is taken by email link', async () => {
    const { runId, checkpoint, card } = await pendingCard();
    const link = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, {
      checkpointId: checkpoint._id,
      recipient: PEOPLE.bob.email,
    });
    const res = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ decision: 'approve' }).toString(),
    });
    expect(res.status).toBe(200);
    await t.waitForRun(runId, isFinished);
    await t.slack.waitFor(() => cardText(card.channel, card.ts).includes('via link'));
    expect(cardText(card.channel, card.ts)).not.toContain('countersign.approve');
  });

  it('lets one of two people clicking at once decide, and tells the other who did', async () => {
    const { runId, checkpoint, card } = await pendingCard();
    await Promise.all([
      click(PEOPLE.alice.id, 'approve', checkpoint._id, card),
      click(PEOPLE.carol.id, 'reject', checkpoint._id, card),
    ]);
    const done = await t.waitForRun(runId, isFinished);
    const winner = done.checkpoints[0]?.decision?.actor;
    const loser = winner === PEOPLE.alice.email ? PEOPLE.carol.id : PEOPLE.alice.id;
    const told = await t.slack.waitFor(() => ephemeralsTo(loser).find((m) => m.includes('Too late')));
    expect(told).toContain(winner === PEOPLE.alice.email ? `<@${PEOPLE.alice.id}>` : `<@${PEOPLE.carol.id}>`);
  });

  it('answers a click after the decision with who decided what, and changes nothing', async () => {
    const { runId, checkpoint, card } = await pendingCard();
    await t.api(`/api/checkpoints/${checkpoint._id}/decision`, { decision: 'approve', actor: 'lead@example.com' });
    await t.waitForRun(runId, isFinished);
    await click(PEOPLE.carol.id, 'reject', checkpoint._id, card);
    const told = await t.slack.waitFor(() => ephemeralsTo(PEOPLE.carol.id).find((m) => m.includes('lead@example.com')));
    expect(told).toMatch(/already approved by lead@example.com via api/);
    const after = await t.app.engine.getCheckpoint(checkpoint._id);
    expect(after).toMatchObject({ status: 'approved', decision: { actor: 'lead@example.com' } });
    expect(after?.audit.some((a) => a.outcome === 'already_decided' && a.channel === 'slack')).toBe(true);
  });

  it('refuses an outsider with an ephemeral message and an audit entry', async () => {
    const { checkpoint, card } = await pendingCard();
    await click(PEOPLE.mallory.id, 'approve', checkpoint._id, card);
    await t.slack.waitFor(() => ephemeralsTo(PEOPLE.mallory.id).find((m) => m.includes('not among the approvers')));
    const after = await t.app.engine.getCheckpoint(checkpoint._id);
    expect(after?.status).toBe('pending');
    expect(after?.audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ actor: PEOPLE.mallory.email, outcome: 'not_authorized' })]),
    );
  });

  it('lets a member of the approvals channel decide though no email lists them', async () => {
    const { runId, checkpoint, card } = await pendingCard();
    await click(PEOPLE.carol.id, 'approve', checkpoint._id, card);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decidedBy: PEOPLE.carol.email });
  });

  it('acknowledges a closed modal and decides nothing', async () => {
    const { checkpoint } = await pendingCard();
    const res = await t.interact(viewClosed({ user: PEOPLE.alice.id, callbackId: 'countersign.edit' }));
    expect(res.status).toBe(200);
    expect((await t.app.engine.getCheckpoint(checkpoint._id))?.status).toBe('pending');
  });
});
