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
}

/** The queued half of Slack requests, run by the `slack` worker. */
export async function handleSlackJob(d: SlackHandlerDeps, job: SlackJob): Promise<void> {
  switch (job.kind) {
    case 'decide':
      return handleDecideJob(d, job);
    case 'mention':
      return handleMentionJob(d, job);
    case 'home':
      return handleHomeJob(d, job.user);
  }
}
