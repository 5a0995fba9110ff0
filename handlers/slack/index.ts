import type { App } from '@slack/bolt';
import type { SlackHandlerDeps, SlackJob } from '../../src/channels/slack/deps.js';
import { registerActions } from './actions.js';
import { registerCommands } from './commands.js';
import { handleDecideJob } from './decide.js';
import { registerEventDedupe, registerEvents } from './events.js';
import { handleHomeJob } from './home.js';
import { handleMentionJob } from './intake.js';
import { registerViews } from './views.js';

/** Every Slack listener, registered on a Bolt app (HTTP or Socket Mode: the listeners do not know which). */
export function registerSlackHandlers(app: App, d: SlackHandlerDeps) {
  registerEventDedupe(app, d);
  registerActions(app, d);
  registerViews(app, d);
  registerCommands(app, d);
  registerEvents(app, d);
  registerFallbacks(app, d);
}

/** Ours all start with `countersign.`; anything else was configured in the app by someone else, or is garbage. */
const NOT_OURS = /^(?!countersign\.)/;

/**
 * Slack wants every interactive request and command acknowledged within 3 seconds, or the person sees an error.
 * A click, shortcut, modal or command we have no listener for is acknowledged and logged here, so it gets a 200
 * at once instead of Bolt's 404 after its 3-second timeout.
 */
function registerFallbacks(app: App, d: SlackHandlerDeps) {
  const ignored = (what: string, id: string | undefined) =>
    d.logger.warn({ what, id: id ?? '' }, 'slack request with no listener acknowledged and ignored');
  app.action({ action_id: NOT_OURS }, async ({ ack, action }) => {
    await ack();
    ignored('action', 'action_id' in action ? action.action_id : undefined);
  });
  app.shortcut({ callback_id: NOT_OURS }, async ({ ack, shortcut }) => {
    await ack();
    ignored(shortcut.type, shortcut.callback_id);
  });
  app.view({ callback_id: NOT_OURS, type: 'view_submission' }, async ({ ack, view }) => {
    await ack();
    ignored('view_submission', view.callback_id);
  });
  app.view({ callback_id: NOT_OURS, type: 'view_closed' }, async ({ ack, view }) => {
    await ack();
    ignored('view_closed', view.callback_id);
  });
  app.command(/^(?!\/countersign$)/, async ({ ack, command }) => {
    await ack();
    ignored('command', command.command);
  });
}

/** The queued half of Slack requests, run by the `slack` worker. */
export async function handleSlackJob(d: SlackHandlerDeps, job: SlackJob, jobId?: string): Promise<void> {
  switch (job.kind) {
    case 'decide':
      return handleDecideJob(d, job);
    case 'mention':
      return handleMentionJob(d, job, jobId);
    case 'home':
      return handleHomeJob(d, job.user);
  }
}
