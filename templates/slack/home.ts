import type { types } from '@slack/bolt';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { decisionButtons, quorumLine } from './checkpoint-card.js';
import { clip, escapeMrkdwn, LIMITS, mrkdwn, plain, slackDate, who } from './text.js';

type Block = types.KnownBlock;

const MAX_PENDING = 15;
const MAX_DECIDED = 15;

function pendingBlocks(cp: CheckpointView, runUrl: string): Block[] {
  const quorum = quorumLine(cp);
  return [
    {
      type: 'section',
      text: mrkdwn(
        `*${escapeMrkdwn(clip(cp.title, 300))}*\n${escapeMrkdwn(clip(cp.summary, 600))}\n<${runUrl}|Open the run>${quorum ? ` · ${quorum}` : ''}`,
      ),
    },
    decisionButtons(cp, `countersign.home.${cp._id}`),
  ];
}

function decidedLine(cp: CheckpointView, runUrl: string): string {
  const d = cp.decision;
  const what = d ? (d.decision === 'approve' ? 'Approved' : 'Rejected') : cp.status;
  const when = d ? `, ${slackDate(d.decidedAt)}` : '';
  const edited = d && d.diff.length > 0 ? ` (edited: ${d.diff.map((x) => x.field).join(', ')})` : '';
  return `• ${what}${edited}: <${runUrl}|${escapeMrkdwn(clip(cp.title, 200))}>${when}${d ? ` by ${who(d.actor)}` : ''}`;
}

/** The App Home tab: what waits for me (with the card's buttons) and what I decided lately. */
export function homeView(
  pending: CheckpointView[],
  decided: CheckpointView[],
  runUrl: (cp: CheckpointView) => string,
): types.HomeView {
  const blocks: Block[] = [{ type: 'header', text: plain('Waiting for you', LIMITS.headerText) }];
  if (pending.length === 0) blocks.push({ type: 'section', text: mrkdwn('Nothing waits for you. :tada:') });
  for (const cp of pending.slice(0, MAX_PENDING)) blocks.push(...pendingBlocks(cp, runUrl(cp)), { type: 'divider' });
  if (pending.length > MAX_PENDING) {
    blocks.push({ type: 'context', elements: [mrkdwn(`${pending.length - MAX_PENDING} more are waiting.`)] });
  }
  blocks.push({ type: 'header', text: plain('Decided by you lately', LIMITS.headerText) });
  const lines = decided.slice(0, MAX_DECIDED).map((cp) => decidedLine(cp, runUrl(cp)));
  blocks.push({ type: 'section', text: mrkdwn(lines.length ? lines.join('\n') : 'No decisions yet.') });
  return { type: 'home', blocks: blocks.slice(0, LIMITS.viewBlocks) };
}
