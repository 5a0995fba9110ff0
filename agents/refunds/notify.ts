import type { Logger } from 'pino';
import { z } from 'zod';
import type { Mailer } from '../../src/channels/mailer.js';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { Retryable } from '../../src/errors.js';
import { requesterAddress } from './input.js';

/** Telling the support agent who asked how it ended: in Slack when they asked from Slack, else by email. */
export interface RequesterNotifier {
  /**
   * At most once per `effectKey` for email (the mailer's effect record). In Slack, a crash between the post and the
   * journal may post again: Slack's API has no idempotency key, and a second note to a colleague is harmless.
   */
  notify(
    requestedBy: string,
    note: { subject: string; text: string },
    effectKey: string,
  ): Promise<{ channel: 'slack' | 'email' | 'none'; detail: string }>;
}

const postMessageAnswer = z.object({ ok: z.literal(true), ts: z.string(), channel: z.string() });

export function createRequesterNotifier(deps: {
  mailer: Mailer;
  slack: () => SlackHandlerDeps | undefined;
  logger: Logger;
}): RequesterNotifier {
  return {
    async notify(requestedBy, note, effectKey) {
      const to = requesterAddress(requestedBy);
      if (to && 'email' in to) {
        const sent = await deps.mailer.send(
          { to: [to.email], subject: note.subject, text: note.text },
          effectKey,
          'refund-requester',
        );
        return { channel: 'email', detail: sent.messageId };
      }
      const slack = deps.slack();
      if (to && 'slackUser' in to && slack) {
        // A bot posting to a user id lands in the user's DM with the app (Slack's chat.postMessage semantics).
        const res = await slack.outbox.call(
          'chat.postMessage',
          { channel: to.slackUser, text: `*${note.subject}*\n${note.text}` },
          postMessageAnswer,
          to.slackUser,
        );
        if (!res.ok) {
          if (res.retryable) throw new Retryable(`Slack refused the note to ${to.slackUser}: ${res.error}`);
          deps.logger.warn({ requestedBy, error: res.error }, 'refund requester could not be told in Slack');
          return { channel: 'none', detail: `Slack: ${res.error}` };
        }
        return { channel: 'slack', detail: res.value.ts };
      }
      deps.logger.warn({ requestedBy }, 'refund requester has no reachable address (no email, Slack not configured)');
      return { channel: 'none', detail: 'no email address and Slack is not configured' };
    },
  };
}
