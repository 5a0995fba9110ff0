import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';

const anything = z.unknown();

/**
 * Tells one person something only they should see: an ephemeral message where they clicked, or a DM from the app
 * when the click came from a view (App Home, a modal) that has no channel.
 */
export async function answer(d: SlackHandlerDeps, user: string, channel: string | undefined, text: string) {
  const res = channel
    ? await d.outbox.call('chat.postEphemeral', { channel, user, text }, anything)
    : await d.outbox.call('chat.postMessage', { channel: user, text }, anything, user);
  if (!res.ok) d.logger.warn({ user, channel, error: res.error }, 'could not answer a Slack user');
}
