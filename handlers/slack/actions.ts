import type { App, types } from '@slack/bolt';
import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { infrastructureFault } from '../../src/infra-errors.js';
import type { CheckpointView } from '../../src/views/checkpoint.js';
import { ACTIONS } from '../../templates/slack/checkpoint-card.js';
import { type EditMetadata, editModal, rejectReasonModal } from '../../templates/slack/modals.js';
import { refusalNotice, staleNotice } from '../../templates/slack/notices.js';
import { answer } from './answer.js';
import { decidersAliases, handleDecideJob } from './decide.js';
import { type BlockAction, blockActionSchema } from './payloads.js';

const opened = z.unknown();

/** Waits for `work` at most `ms`; `undefined` when it took longer (the work itself goes on). */
export async function within<T>(ms: number, work: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((r) => {
    timer = setTimeout(() => r(undefined), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

function clickOf(body: unknown): { payload: BlockAction; checkpointId: string; channel?: string } | undefined {
  const parsed = blockActionSchema.safeParse(body);
  if (!parsed.success) return undefined;
  const checkpointId = parsed.data.actions[0]?.value;
  if (!checkpointId) return undefined;
  const channel = parsed.data.channel?.id ?? parsed.data.container?.channel_id;
  return { payload: parsed.data, checkpointId, ...(channel ? { channel } : {}) };
}

type Click = NonNullable<ReturnType<typeof clickOf>>;
/** Whatever the engine hands back for a checkpoint: `mayDecide` wants the same. */
type Checkpoint = Awaited<ReturnType<SlackHandlerDeps['engine']['getCheckpoint']>>;

/** How long the queued copy of a click waits before it decides in place of a process that died after the ack. */
const SAFETY_NET_MS = 15_000;

/**
 * The queued copy of a click: it waits as a safety net and decides in place of this process if it dies or the decision
 * fails on something passing (the store away), with the queue's retries. Slack does not send an acknowledged click
 * again, so for Approve the copy is queued before the acknowledgement: a process killed in between leaves Slack
 * without an answer (the person sees the click fail and clicks again) rather than a click acknowledged and lost.
 * Returns whether the copy is queued; with Redis away there is no safety net, but the store may still take the
 * decision, so it is tried rather than dropped.
 */
async function queueCopy(d: SlackHandlerDeps, decision: 'approve' | 'reject', click: Click) {
  const job = {
    kind: 'decide' as const,
    checkpointId: click.checkpointId,
    decision,
    user: click.payload.user.id,
    ...(click.channel ? { channel: click.channel } : {}),
  };
  // One click, one copy: Slack's trigger id is unique per click (and a redelivered click carries the same one).
  const jobId = `click-${click.payload.trigger_id}`.replaceAll(':', '_');
  const queued = await d.enqueue(job, { delayMs: SAFETY_NET_MS, jobId }).then(
    () => true,
    (err: unknown) => {
      if (!infrastructureFault(err)) throw err;
      d.logger.warn({ checkpointId: click.checkpointId }, 'click decided without its queued copy: redis unreachable');
      return false;
    },
  );
  return { job, jobId, queued };
}

/** Decides a click here, right after the acknowledgement, instead of after a queue hop; done, the copy is withdrawn. */
async function decideNow(d: SlackHandlerDeps, click: Click, copy: Awaited<ReturnType<typeof queueCopy>>) {
  try {
    await handleDecideJob(d, copy.job);
  } catch (err) {
    if (!copy.queued) throw err;
    d.logger.warn({ checkpointId: click.checkpointId, err: (err as Error).message }, 'click left to the queue');
    return;
  }
  if (copy.queued) await d.withdraw(copy.jobId);
}

/**
 * Opens a decision modal (edit, reject reason) for a pending checkpoint, or tells the clicker why not. Nothing is
 * decided here: the submission goes through the one decide path (handlers/slack/views.ts).
 */
async function openDecisionModal(
  d: SlackHandlerDeps,
  click: Click,
  cp: Checkpoint,
  purpose: 'edit' | 'reject',
  build: (cp: CheckpointView, meta: EditMetadata) => types.ModalView,
) {
  const user = click.payload.user.id;
  if (!cp) return answer(d, user, click.channel, 'This checkpoint no longer exists.');
  if (cp.status !== 'pending') {
    return answer(d, user, click.channel, staleNotice(cp.status, cp.decision, decidersAliases(cp, cp.decision?.actor)));
  }
  // A trigger_id lives 3 seconds: check who clicked if Slack answers quickly, else let the engine refuse on submit.
  const allowed = await within(
    1_500,
    d.people.resolve(user).then((p) => d.engine.mayDecide(cp, p.actor, p.aliases)),
  );
  if (allowed === false) {
    await d.audit(cp, {
      at: d.now(),
      actor: user,
      channel: 'slack',
      outcome: 'not_authorized',
      detail: purpose,
    });
    return answer(d, user, click.channel, refusalNotice(cp.title));
  }
  const view = build(cp, { checkpointId: cp._id, ...(click.channel ? { channel: click.channel } : {}) });
  const res = await d.outbox.call('views.open', { trigger_id: click.payload.trigger_id, view }, opened);
  if (!res.ok) d.logger.warn({ checkpointId: cp._id, error: res.error, purpose }, 'could not open a decision modal');
}

/**
 * Approve and Reject are acknowledged at once and decided right after, in this process; Edit, and Reject where a
 * reason is required, open a modal while the trigger is fresh.
 */
export function registerActions(app: App, d: SlackHandlerDeps) {
  app.action(ACTIONS.approve, async ({ ack, body }) => {
    const click = clickOf(body);
    if (!click) {
      await ack();
      return d.logger.warn({ action: 'approve' }, 'unreadable Slack click ignored');
    }
    const copy = await queueCopy(d, 'approve', click);
    await ack();
    await decideNow(d, click, copy);
  });

  app.action(ACTIONS.reject, async ({ ack, body }) => {
    await ack();
    const click = clickOf(body);
    if (!click) return d.logger.warn({ action: 'reject' }, 'unreadable Slack click ignored');
    const cp = await d.engine.getCheckpoint(click.checkpointId);
    // A reject without a reason would only be refused: ask for one. Anything else (no flag, gone, already decided)
    // goes to the queue as it always has, which answers the clicker.
    if (cp?.status === 'pending' && cp.requireRejectReason) {
      return openDecisionModal(d, click, cp, 'reject', rejectReasonModal);
    }
    // Acknowledged first: whether a reason is needed (a modal) is known only after reading the checkpoint.
    await decideNow(d, click, await queueCopy(d, 'reject', click));
  });

  app.action(ACTIONS.edit, async ({ ack, body }) => {
    await ack();
    const click = clickOf(body);
    if (!click) return d.logger.warn({ action: 'edit' }, 'unreadable Slack click ignored');
    const cp = await d.engine.getCheckpoint(click.checkpointId);
    await openDecisionModal(d, click, cp, 'edit', editModal);
  });
}
