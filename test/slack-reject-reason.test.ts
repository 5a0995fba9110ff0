import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalLink } from '../src/approvals/tokens.js';
import { isFinished } from './support/app.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { blockActions, viewClosed, viewSubmission } from './support/slack-payloads.js';
import { register, signOffWorkflow } from './support/slack-workflows.js';

/*
 * A checkpoint with `requireRejectReason` cannot be rejected without a comment; in Slack the Reject button asks for
 * one in a modal. Everything goes through the signed /slack/events endpoint and the Slack stand-in.
 */

let t: SlackTestApp;
const FLAGGED = 'slack-reject-reason';
const PLAIN = 'slack-reject-plain';
const REASON_BLOCK = 'countersign.reason';

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackreason' });
  // Alice by email (approval links) and by Slack id (a DM copy of the card beside the channel's).
  const approvers = { emails: [PEOPLE.alice.email], slackUsers: [PEOPLE.alice.id] };
  register(t.app, signOffWorkflow(FLAGGED, { approvers, requireRejectReason: true }));
  register(t.app, signOffWorkflow(PLAIN, { approvers }));
});
afterAll(async () => {
  await t?.close();
});

let n = 0;
async function pending(workflow: string) {
  n++;
  const title = `Payout ${n}`;
  const { runId } = await t.app.engine.startRun({
    workflow,
    input: { title },
    source: { channel: 'api' },
  });
  const run = await t.waitForRun(runId, (r) => r.checkpoints.some((c) => c.status === 'pending'));
  const checkpointId = run.checkpoints[0]?.id ?? '';
  return { runId, checkpointId, title, card: await t.card(checkpointId) };
}

type Card = { channel: string; ts: string };
type Element = { action_id?: string; confirm?: unknown; text?: { text: string } };

const blocksOf = (card: Card) => t.slack.messages.get(`${card.channel}:${card.ts}`)?.blocks ?? [];
const cardText = (card: Card) => JSON.stringify(blocksOf(card));
const rejectButton = (card: Card) =>
  (blocksOf(card) as { elements?: Element[] }[])
    .flatMap((b) => b.elements ?? [])
    .find((e) => e.action_id === 'countersign.reject');

const click = (user: string, action: string, checkpointId: string, card: Card) =>
  t.interact(
    blockActions({
      user,
      actionId: `countersign.${action}`,
      value: checkpointId,
      channel: card.channel,
      messageTs: card.ts,
    }),
  );

const ephemeralsTo = (user: string) =>
  t.slack
    .callsTo('chat.postEphemeral')
    .filter((c) => c.args.user === user)
    .map((c) => String(c.args.text));

interface OpenedView {
  callback_id: string;
  private_metadata: string;
  submit?: { text: string };
  blocks: {
    type: string;
    block_id?: string;
    optional?: boolean;
    label?: { text: string };
    element?: { type: string; multiline?: boolean; min_length?: number };
  }[];
}

/** Clicks Reject and returns the modal Slack was asked to open for this checkpoint. */
async function openReasonModal(checkpointId: string, card: Card, user: string = PEOPLE.alice.id) {
  await click(user, 'reject', checkpointId, card);
  const open = await t.slack.waitFor(() =>
    t.slack.callsTo('views.open').find((c) => (c.args.view as OpenedView).private_metadata.includes(checkpointId)),
  );
  return open.args.view as OpenedView;
}

const submitReason = (view: OpenedView, reason: string | null, user: string = PEOPLE.alice.id) =>
  t.interact(
    viewSubmission({
      user,
      callbackId: view.callback_id,
      privateMetadata: view.private_metadata,
      values: { [REASON_BLOCK]: { value: { type: 'plain_text_input', value: reason } } },
    }),
  );

interface ModalAnswer {
  response_action: string;
  errors?: Record<string, string>;
  view?: { title: { text: string }; blocks: { text: { text: string } }[] };
}
const answerOf = async (res: Response) => {
  expect(res.status).toBe(200);
  return (await res.json()) as ModalAnswer;
};
const shownText = (a: ModalAnswer) => a.view?.blocks.map((b) => b.text.text).join('\n') ?? '';

describe('Reject on a checkpoint that requires a reason', () => {
  it('says so on the card and drops the confirm dialog there, keeping the three action ids', async () => {
    const { checkpointId, card } = await pending(FLAGGED);
    expect(cardText(card)).toContain('Reject needs a reason');
    const reject = rejectButton(card);
    expect(reject).toBeDefined();
    expect(reject?.confirm).toBeUndefined();
    const ids = (blocksOf(card) as { elements?: Element[] }[]).flatMap((b) => b.elements ?? []).map((e) => e.action_id);
    expect(ids).toEqual(expect.arrayContaining(['countersign.approve', 'countersign.reject', 'countersign.edit']));
    // The DM copy is rendered by the same function.
    const dm = await t.card(checkpointId, t.slack.dmOf(PEOPLE.alice.id));
    expect(cardText(dm)).toContain('Reject needs a reason');
  });

  it('opens a modal with a required multiline reason instead of deciding', async () => {
    const { checkpointId, card } = await pending(FLAGGED);
    const view = await openReasonModal(checkpointId, card);
    expect(view.callback_id).toBe('countersign.reject_reason');
    expect(view.submit?.text).toBe('Reject');
    const reason = view.blocks.find((b) => b.block_id === REASON_BLOCK);
    expect(reason).toMatchObject({
      type: 'input',
      label: { text: 'Reason' },
      element: { type: 'plain_text_input', multiline: true, min_length: 3 },
    });
    expect(reason?.optional).not.toBe(true);
    expect((await t.app.engine.getCheckpoint(checkpointId))?.status).toBe('pending');
    expect(ephemeralsTo(PEOPLE.alice.id).some((m) => m.includes('reason is required'))).toBe(false);
  });

  it('answers an empty or too short reason with errors on the reason field and decides nothing', async () => {
    const { checkpointId, card } = await pending(FLAGGED);
    const view = await openReasonModal(checkpointId, card);
    for (const reason of [null, '', 'no', '   \n  ']) {
      const answer = await answerOf(await submitReason(view, reason));
      expect(answer.response_action).toBe('errors');
      expect(Object.keys(answer.errors ?? {})).toEqual([REASON_BLOCK]);
      expect(answer.errors?.[REASON_BLOCK]).toMatch(/at least 3 characters/);
    }
    const cp = await t.app.engine.getCheckpoint(checkpointId);
    expect(cp?.status).toBe('pending');
    expect(cp?.decision).toBeUndefined();
  });

  it('rejects with the reason as the comment, the run takes its reject path and every card copy updates', async () => {
    const { runId, checkpointId, title, card } = await pending(FLAGGED);
    const dm = await t.card(checkpointId, t.slack.dmOf(PEOPLE.alice.id));
    const view = await openReasonModal(checkpointId, card);
    const reason = 'The payee is not on the vendor list; ask finance first.';
    const answer = await answerOf(await submitReason(view, `  ${reason}\n`));
    expect(answer.response_action).toBe('update');
    expect(answer.view?.title.text).toBe('Recorded');

    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toEqual({ decision: 'reject', actor: PEOPLE.alice.email, channel: 'slack' });
    const cp = await t.app.engine.getCheckpoint(checkpointId);
    expect(cp).toMatchObject({ status: 'rejected', decision: { decision: 'reject', comment: reason } });

    for (const copy of [card, dm]) {
      await t.slack.waitFor(() => cardText(copy).includes('Rejected') && cardText(copy).includes(reason));
      const message = t.slack.messages.get(`${copy.channel}:${copy.ts}`);
      expect(message?.updates).toBeGreaterThan(0);
      expect(cardText(copy)).not.toContain('countersign.reject');
      expect(cardText(copy)).not.toContain('Reject needs a reason');
    }
    // Updated in place: no second card was posted anywhere (the decided card no longer carries the id, only the title).
    for (const where of [card.channel, dm.channel]) {
      expect(
        t.slack.messagesIn(where).filter((m) => !m.threadTs && JSON.stringify(m.blocks).includes(title)),
      ).toHaveLength(1);
    }
  });

  it('says who decided when the reason is submitted after someone else decided', async () => {
    const { runId, checkpointId, card } = await pending(FLAGGED);
    const view = await openReasonModal(checkpointId, card);
    await t.api(`/api/checkpoints/${checkpointId}/decision`, { decision: 'approve', actor: 'lead@example.com' });
    await t.waitForRun(runId, isFinished);
    const answer = await answerOf(await submitReason(view, 'Too expensive for this quarter.'));
    expect(answer.response_action).toBe('update');
    expect(answer.view?.title.text).toBe('Not recorded');
    expect(shownText(answer)).toMatch(/already approved by lead@example.com via api/);
    expect(await t.app.engine.getCheckpoint(checkpointId)).toMatchObject({
      status: 'approved',
      decision: { actor: 'lead@example.com' },
    });
    // A click on the stale card answers as before, without a modal.
    const opened = t.slack.callsTo('views.open').length;
    await click(PEOPLE.alice.id, 'reject', checkpointId, card);
    await t.slack.waitFor(() => ephemeralsTo(PEOPLE.alice.id).find((m) => m.includes('lead@example.com')));
    expect(t.slack.callsTo('views.open')).toHaveLength(opened);
  });

  it('refuses an outsider: no modal on the click, and a forged submission is not recorded', async () => {
    const { checkpointId, card } = await pending(FLAGGED);
    const opened = t.slack.callsTo('views.open').length;
    await click(PEOPLE.mallory.id, 'reject', checkpointId, card);
    await t.slack.waitFor(() => ephemeralsTo(PEOPLE.mallory.id).find((m) => m.includes('not among the approvers')));
    expect(t.slack.callsTo('views.open')).toHaveLength(opened);
    const audited = await t.app.engine.getCheckpoint(checkpointId);
    expect(audited?.audit).toEqual(
      expect.arrayContaining([expect.objectContaining({ outcome: 'not_authorized', detail: 'reject' })]),
    );

    // The modal's metadata is only a checkpoint id: a submission by someone else is decided by the engine, which refuses.
    const view = await openReasonModal(checkpointId, card);
    const answer = await answerOf(await submitReason(view, 'I do not like it.', PEOPLE.mallory.id));
    expect(answer.view?.title.text).toBe('Not recorded');
    expect(shownText(answer)).toContain('not among the approvers');
    expect((await t.app.engine.getCheckpoint(checkpointId))?.status).toBe('pending');
  });

  it('acknowledges a closed reason modal and decides nothing', async () => {
    const { checkpointId } = await pending(FLAGGED);
    const res = await t.interact(viewClosed({ user: PEOPLE.alice.id, callbackId: 'countersign.reject_reason' }));
    expect(res.status).toBe(200);
    expect((await t.app.engine.getCheckpoint(checkpointId))?.status).toBe('pending');
  });
});

describe('Reject on a checkpoint without the flag', () => {
  it('keeps the confirm dialog and rejects from the click, with no modal and no comment', async () => {
    const { runId, checkpointId, card } = await pending(PLAIN);
    expect(cardText(card)).not.toContain('Reject needs a reason');
    expect(rejectButton(card)).toMatchObject({ text: { text: 'Reject' }, confirm: expect.anything() });
    const opened = t.slack.callsTo('views.open').length;
    await click(PEOPLE.alice.id, 'reject', checkpointId, card);
    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toEqual({ decision: 'reject', actor: PEOPLE.alice.email, channel: 'slack' });
    expect((await t.app.engine.getCheckpoint(checkpointId))?.decision?.comment).toBeUndefined();
    await t.slack.waitFor(() => cardText(card).includes('Rejected'));
    expect(t.slack.callsTo('views.open')).toHaveLength(opened);
  });
});

describe('the approval page of a checkpoint that requires a reason', () => {
  const link = (checkpointId: string) =>
    approvalLink(t.app.config.publicUrl, t.app.config.appSecret, { checkpointId, recipient: PEOPLE.alice.email });
  const post = (url: string, fields: Record<string, string>) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });

  it('marks the comment required, shows the engine’s message when it is missing, then rejects with it', async () => {
    const { runId, checkpointId } = await pending(FLAGGED);
    const url = link(checkpointId);
    const page = await (await fetch(url)).text();
    expect(page).toMatch(/<textarea id="comment"[^>]* required/);
    expect(page).toContain('required to reject');
    // Approving needs no comment, so Approve skips the browser's check.
    expect(page).toMatch(/value="approve" formnovalidate/);

    const refused = await post(url, { decision: 'reject', comment: '  ' });
    expect(refused.status).toBe(400);
    const again = await refused.text();
    expect(again).toContain('Say why you reject: a comment is required.');
    expect(again).toMatch(/<textarea[^>]* required aria-invalid="true"/);
    expect((await t.app.engine.getCheckpoint(checkpointId))?.status).toBe('pending');

    const accepted = await post(url, { decision: 'reject', comment: 'Not on the vendor list.' });
    expect(accepted.status).toBe(200);
    expect(await t.waitForRun(runId, isFinished)).toMatchObject({ output: { decision: 'reject', channel: 'link' } });
    expect((await t.app.engine.getCheckpoint(checkpointId))?.decision?.comment).toBe('Not on the vendor list.');
  });

  it('leaves the comment optional where no reason is required', async () => {
    const { checkpointId } = await pending(PLAIN);
    const page = await (await fetch(link(checkpointId))).text();
    expect(page).toContain('Comment (optional)');
    expect(page).not.toMatch(/<textarea[^>]* required/);
    expect(page).not.toContain('formnovalidate');
  });
});
