import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { appendAudit } from '../../src/store/audit.js';
import { ACTIONS } from '../../templates/slack/checkpoint-card.js';
import { editModal } from '../../templates/slack/modals.js';
import { refusalNotice, staleNotice } from '../../templates/slack/notices.js';
import { answer } from './answer.js';
import { decidersAliases } from './decide.js';
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

/** Approve and Reject are acknowledged at once and decided from the queue; Edit opens the modal while the trigger is fresh. */
export function registerActions(app: App, d: SlackHandlerDeps) {
  for (const decision of ['approve', 'reject'] as const) {
    app.action(ACTIONS[decision], async ({ ack, body }) => {
      await ack();
      const click = clickOf(body);
      if (!click) return d.logger.warn({ action: decision }, 'unreadable Slack click ignored');
      await d.enqueue({
        kind: 'decide',
        checkpointId: click.checkpointId,
        decision,
        user: click.payload.user.id,
        ...(click.channel ? { channel: click.channel } : {}),
      });
    });
  }

  app.action(ACTIONS.edit, async ({ ack, body }) => {
    await ack();
    const click = clickOf(body);
    if (!click) return d.logger.warn({ action: 'edit' }, 'unreadable Slack click ignored');
    const user = click.payload.user.id;
    const cp = await d.engine.getCheckpoint(click.checkpointId);
    if (!cp) return answer(d, user, click.channel, 'This checkpoint no longer exists.');
    if (cp.status !== 'pending') {
      return answer(
        d,
        user,
        click.channel,
        staleNotice(cp.status, cp.decision, decidersAliases(cp, cp.decision?.actor)),
      );
    }
    // A trigger_id lives 3 seconds: check who clicked if Slack answers quickly, else let the engine refuse on submit.
    const allowed = await within(
      1_500,
      d.people.resolve(user).then((p) => d.engine.mayDecide(cp, p.actor, p.aliases)),
    );
    if (allowed === false) {
      await appendAudit(d.store, cp, {
        at: d.now(),
        actor: user,
        channel: 'slack',
        outcome: 'not_authorized',
        detail: 'edit',
      });
      return answer(d, user, click.channel, refusalNotice(cp.title));
    }
    const view = editModal(cp, { checkpointId: cp._id, ...(click.channel ? { channel: click.channel } : {}) });
    const res = await d.outbox.call('views.open', { trigger_id: click.payload.trigger_id, view }, opened);
    if (!res.ok) d.logger.warn({ checkpointId: cp._id, error: res.error }, 'could not open the edit modal');
  });
}
