import type { types } from '@slack/bolt';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { humanise } from '../../src/views/json-schema.js';
import { clip, clipWithLink, escapeMrkdwn, LIMITS, mrkdwn, plain, slackDate, who } from './text.js';

type Block = types.KnownBlock;

export const ACTIONS = {
  approve: 'countersign.approve',
  reject: 'countersign.reject',
  edit: 'countersign.edit',
} as const;

export interface CardContext {
  /** Where the whole run can be read; long evidence is shortened with a link here. */
  runUrl: string;
  /** A note under the card: "Reminder 2 sent", "Escalated to @lead". */
  note?: string;
}

/** Evidence sections beyond this go behind the run link, keeping the card well under Slack's 50 blocks. */
const MAX_SECTIONS = 20;
const SECTION_TEXT = 2_000;
const VALUE_TEXT = 1_500;

function evidenceBlocks(cp: CheckpointView, runUrl: string): Block[] {
  const sections = cp.evidence.slice(0, MAX_SECTIONS).map(
    (s): Block => ({
      type: 'section',
      text: mrkdwn(
        clipWithLink(
          `*${escapeMrkdwn(s.title)}*\n${s.items.map((i) => `• *${escapeMrkdwn(i.label)}:* ${escapeMrkdwn(i.value)}`).join('\n')}`,
          SECTION_TEXT,
          runUrl,
          'all evidence in the run',
        ),
      ),
    }),
  );
  const hidden = cp.evidence.length - MAX_SECTIONS;
  if (hidden > 0) {
    sections.push({
      type: 'context',
      elements: [mrkdwn(`${hidden} more evidence sections: <${runUrl}|open the run>`)],
    });
  }
  return sections;
}

function proposalBlocks(cp: CheckpointView, runUrl: string): Block[] {
  const confidence =
    cp.proposal.confidence === undefined ? '' : ` (confidence ${Math.round(cp.proposal.confidence * 100)}%)`;
  const lines = [`*Proposed outcome:* ${escapeMrkdwn(cp.proposal.outcome)}${confidence}`];
  if (cp.proposal.rationale) lines.push(`_${escapeMrkdwn(cp.proposal.rationale)}_`);
  const blocks: Block[] = [{ type: 'section', text: mrkdwn(clipWithLink(lines.join('\n'), SECTION_TEXT, runUrl)) }];
  for (const [field, value] of Object.entries(cp.values)) {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    const multiline = text.includes('\n') || text.length > 80;
    const shown = multiline
      ? `*${humanise(field)}:*\n>${escapeMrkdwn(text).replace(/\n/g, '\n>')}`
      : `*${humanise(field)}:* ${escapeMrkdwn(text)}`;
    blocks.push({ type: 'section', text: mrkdwn(clipWithLink(shown, VALUE_TEXT, runUrl)) });
  }
  return blocks;
}

/** "2 of 3 approvals: @a, @b" while a quorum is being gathered; nothing for a single-approver checkpoint. */
export function quorumLine(cp: CheckpointView): string | undefined {
  const required = cp.quorum?.required ?? 1;
  const approvals = cp.approvals ?? [];
  if (required <= 1 && approvals.length === 0) return undefined;
  const names = approvals.map((a) => who(a.actor, a.aliases)).join(', ');
  return `${approvals.length} of ${required} approvals${names ? `: ${names}` : ''}`;
}

function decisionLine(cp: CheckpointView): string {
  const d = cp.decision;
  if (!d) return cp.status === 'cancelled' ? ':no_entry_sign: *Cancelled* — no decision is needed any more.' : '';
  const aliases = (cp.approvals ?? []).find((a) => a.actor === d.actor)?.aliases ?? [];
  const verb = d.decision === 'approve' ? ':white_check_mark: *Approved*' : ':x: *Rejected*';
  const how =
    d.channel === 'timeout'
      ? 'automatically after the timeout'
      : d.channel === 'console'
        ? 'in the console'
        : `via ${d.channel}`;
  const behalf = d.onBehalfOf ? ` on behalf of ${who(d.onBehalfOf, [])}` : '';
  const lines = [`${verb} by ${who(d.actor, aliases)}${behalf} ${how}, ${slackDate(d.decidedAt)}`];
  if (d.diff.length > 0) {
    const changes = d.diff.map((c) => {
      const after = typeof c.after === 'string' ? c.after : JSON.stringify(c.after);
      const before = typeof c.before === 'string' ? c.before : JSON.stringify(c.before);
      return after.length + before.length > 120
        ? `• ${humanise(c.field)} edited`
        : `• ${humanise(c.field)}: ${escapeMrkdwn(before)} → ${escapeMrkdwn(after)}`;
    });
    lines.push(`*Changed before deciding:*\n${changes.join('\n')}`);
  }
  if (d.comment) lines.push(`*Comment:* ${escapeMrkdwn(d.comment)}`);
  return lines.join('\n');
}

/** Shown beside the buttons of a checkpoint whose Reject opens the reason modal instead of a confirm dialog. */
const REJECT_REASON_NOTE = ':memo: Reject needs a reason';

/**
 * Reject sits behind a confirm dialog, except where a reason is required: there the click opens a modal asking why
 * (handlers/slack/actions.ts), which is confirmation enough, and a dialog before it would only add a step.
 */
function rejectButton(cp: CheckpointView) {
  const button = {
    type: 'button' as const,
    action_id: ACTIONS.reject,
    style: 'danger' as const,
    value: cp._id,
  };
  if (cp.requireRejectReason) return { ...button, text: plain('Reject…', LIMITS.buttonText) };
  return {
    ...button,
    text: plain('Reject', LIMITS.buttonText),
    confirm: {
      title: plain('Reject this proposal?', LIMITS.confirmTitle),
      text: plain(clip(`Reject "${clip(cp.title, 200)}"? The workflow takes its reject path.`, LIMITS.confirmText)),
      confirm: plain('Reject', 30),
      deny: plain('Cancel', 30),
      style: 'danger' as const,
    },
  };
}

/** Approve, Reject (behind a confirm dialog, or the reason modal) and Edit: the same three on the card and in App Home. */
export function decisionButtons(cp: CheckpointView, blockId = 'countersign.decide'): Block {
  return {
    type: 'actions',
    block_id: blockId.slice(0, 255),
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.approve,
        text: plain('Approve', LIMITS.buttonText),
        style: 'primary',
        value: cp._id,
      },
      rejectButton(cp),
      { type: 'button', action_id: ACTIONS.edit, text: plain('Edit…', LIMITS.buttonText), value: cp._id },
    ],
  };
}

/**
 * The checkpoint card: what the AI found, what it proposes, the buttons while pending, and after a decision who
 * decided what, when and what they changed. The same function renders every copy (channel, DM, after updates),
 * so all copies agree.
 */
export function checkpointCard(cp: CheckpointView, ctx: CardContext): { text: string; blocks: Block[] } {
  const blocks: Block[] = [
    { type: 'header', text: plain(cp.title, LIMITS.headerText) },
    { type: 'section', text: mrkdwn(clipWithLink(escapeMrkdwn(cp.summary), SECTION_TEXT, ctx.runUrl)) },
    ...evidenceBlocks(cp, ctx.runUrl),
    { type: 'divider' },
    ...proposalBlocks(cp, ctx.runUrl),
  ];
  const context = [`<${ctx.runUrl}|Run ${cp.runId}>`];
  const quorum = quorumLine(cp);
  if (quorum && cp.status === 'pending') context.unshift(quorum);
  if (cp.status === 'pending') {
    const sent = cp.timers?.remindersSent ?? 0;
    if (sent > 0) context.push(`:alarm_clock: ${sent} reminder${sent === 1 ? '' : 's'} sent`);
    if (cp.escalatedAt) context.push(`:rotating_light: Escalated ${slackDate(cp.escalatedAt)}`);
    if (ctx.note) context.push(escapeMrkdwn(ctx.note));
    if (cp.requireRejectReason) context.push(REJECT_REASON_NOTE);
  }
  if (cp.status === 'pending') {
    blocks.push({ type: 'context', elements: context.map((c) => mrkdwn(c, 2_000)) });
    blocks.push(decisionButtons(cp));
  } else {
    blocks.push({ type: 'section', text: mrkdwn(decisionLine(cp)) });
    blocks.push({ type: 'context', elements: context.map((c) => mrkdwn(c, 2_000)) });
  }
  const status = cp.status === 'pending' ? 'Decision needed' : `Decided (${cp.status})`;
  return { text: clip(`${status}: ${cp.title}`, 3_000), blocks: blocks.slice(0, LIMITS.messageBlocks) };
}

/** The card Slack gets when the full one was refused (`invalid_blocks`, `msg_too_long`): title, link and buttons. */
export function minimalCard(cp: CheckpointView, ctx: CardContext): { text: string; blocks: Block[] } {
  const blocks: Block[] = [
    {
      type: 'section',
      text: mrkdwn(`*${escapeMrkdwn(clip(cp.title, 500))}*\n<${ctx.runUrl}|Read the evidence in the run>`),
    },
  ];
  if (cp.status === 'pending') {
    if (cp.requireRejectReason) blocks.push({ type: 'context', elements: [mrkdwn(REJECT_REASON_NOTE)] });
    blocks.push(decisionButtons(cp));
  } else blocks.push({ type: 'section', text: mrkdwn(decisionLine(cp)) });
  return { text: clip(`Decision needed: ${cp.title}`, 3_000), blocks };
}
