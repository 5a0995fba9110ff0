import type { DecisionSummary } from '../../src/errors.js';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { quorumLine } from './checkpoint-card.js';
import { escapeMrkdwn, slackDate, who } from './text.js';

/** Short messages people see around a card: ephemeral answers to clicks, reminders, escalations. */

/** `aliases`: the decider's other identifiers (their Slack id), so they show as a mention. */
export function staleNotice(status: string, decided: DecisionSummary | undefined, aliases: string[] = []): string {
  if (!decided) return `This checkpoint is ${status}; there is nothing left to decide.`;
  const what = decided.decision === 'approve' ? 'approved' : 'rejected';
  return `Too late: this was already ${what} by ${who(decided.actor, aliases)} via ${decided.channel}, ${slackDate(decided.decidedAt)}. Your click changed nothing.`;
}

export const refusalNotice = (title: string) =>
  `You are not among the approvers of "${escapeMrkdwn(title)}", so your click was not counted. The attempt is recorded.`;

export function progressNotice(cp: CheckpointView): string {
  return `Your approval is recorded. ${quorumLine(cp) ?? ''}`.trim();
}

export function decidedNotice(cp: CheckpointView): string {
  const d = cp.decision;
  if (!d) return `Recorded for "${escapeMrkdwn(cp.title)}".`;
  return `${d.decision === 'approve' ? 'Approved' : 'Rejected'}: "${escapeMrkdwn(cp.title)}". The workflow goes on.`;
}

export function reminderText(cp: CheckpointView, n: number, cardLink?: string): string {
  const waiting = quorumLine(cp);
  const since = slackDate(cp.createdAt);
  return `:alarm_clock: Reminder ${n}: "${escapeMrkdwn(cp.title)}" has been waiting for a decision since ${since}.${waiting ? ` ${waiting}.` : ''}${cardLink ? ` <${cardLink}|Open the card>` : ''}`;
}

/** To the people it was escalated to, or (`to` given) in the card's thread saying to whom. */
export function escalationText(cp: CheckpointView, runUrl: string, cardLink?: string, to?: string): string {
  const lead = to ? `Escalated to ${to}` : 'Escalated to you';
  return `:rotating_light: ${lead}: "${escapeMrkdwn(cp.title)}" got no decision in time (waiting since ${slackDate(cp.createdAt)}). ${cardLink ? `<${cardLink}|Open the card> · ` : ''}<${runUrl}|Open the run>`;
}
