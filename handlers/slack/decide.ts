import type { SlackHandlerDeps, SlackJob } from '../../src/channels/slack/deps.js';
import { AlreadyDecided, InvalidInput, NotAuthorized, NotFound } from '../../src/errors.js';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { progressNotice, refusalNotice, staleNotice } from '../../templates/slack/notices.js';
import { answer } from './answer.js';

/** The Slack ids of whoever decided, from their recorded approval, so notices can mention them. */
export function decidersAliases(cp: CheckpointView | null, actor: string | undefined): string[] {
  if (!cp || !actor) return [];
  return (cp.approvals ?? []).find((a) => a.actor === actor)?.aliases ?? [];
}

export interface DecisionInput {
  checkpointId: string;
  decision: 'approve' | 'reject';
  user: string;
  edits?: Record<string, unknown>;
  comment?: string;
}

export type DecisionOutcome =
  | { kind: 'decided'; checkpoint: CheckpointView }
  | { kind: 'partial'; checkpoint: CheckpointView }
  | { kind: 'invalid'; issues: { path: string; message: string }[]; message: string }
  | { kind: 'stale'; text: string }
  | { kind: 'refused'; text: string }
  | { kind: 'missing'; text: string };

/**
 * A Slack click or modal submission through the engine's one decide path. The clicker is identified on the
 * server (Slack user id from the signed payload, email from users.info), never from what the button carries.
 */
export async function decideFromSlack(d: SlackHandlerDeps, input: DecisionInput): Promise<DecisionOutcome> {
  const person = await d.people.resolve(input.user);
  try {
    const checkpoint = await d.engine.decide({
      checkpointId: input.checkpointId,
      decision: input.decision,
      actor: person.actor,
      aliases: person.aliases,
      channel: 'slack',
      ...(input.edits ? { edits: input.edits } : {}),
      ...(input.comment ? { comment: input.comment } : {}),
    });
    return { kind: checkpoint.status === 'pending' ? 'partial' : 'decided', checkpoint };
  } catch (err) {
    if (err instanceof AlreadyDecided) {
      const cp = await d.engine.getCheckpoint(input.checkpointId);
      return { kind: 'stale', text: staleNotice(err.status, err.decided, decidersAliases(cp, err.decided?.actor)) };
    }
    if (err instanceof NotAuthorized) {
      const cp = await d.engine.getCheckpoint(input.checkpointId);
      return { kind: 'refused', text: refusalNotice(cp?.title ?? 'this checkpoint') };
    }
    if (err instanceof InvalidInput) return { kind: 'invalid', issues: err.issues, message: err.message };
    if (err instanceof NotFound) return { kind: 'missing', text: 'This checkpoint no longer exists.' };
    throw err;
  }
}

/** The queued half of an Approve/Reject click: decide, then tell the clicker anything the card will not show. */
export async function handleDecideJob(d: SlackHandlerDeps, job: Extract<SlackJob, { kind: 'decide' }>) {
  const out = await decideFromSlack(d, job);
  switch (out.kind) {
    case 'decided':
      break; // every copy of the card changes in place (notify → SlackChannel.onDecided); nothing more to say
    case 'partial':
      await answer(d, job.user, job.channel, progressNotice(out.checkpoint));
      break;
    case 'invalid':
      await answer(d, job.user, job.channel, out.message);
      break;
    default:
      await answer(d, job.user, job.channel, out.text);
  }
  if (!job.channel) await d.enqueue({ kind: 'home', user: job.user }); // clicked in App Home: show the new state
}
