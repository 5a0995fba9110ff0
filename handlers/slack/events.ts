import type { App } from '@slack/bolt';
import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { isDuplicateKey } from '../../src/store/models.js';
import { appHomeOpenedSchema, appMentionSchema, threadMessageSchema } from './payloads.js';

const envelope = z
  .object({ type: z.literal('event_callback'), event_id: z.string(), event: z.object({ type: z.string() }).loose() })
  .loose();

/**
 * Slack retries an event it thinks we missed (X-Slack-Retry-Num), with the same event_id. The first delivery
 * inserts the id; a retry finds it taken and stops here, so one mention starts one run.
 */
export function registerEventDedupe(app: App, d: SlackHandlerDeps) {
  app.use(async ({ body, next }) => {
    const ev = envelope.safeParse(body);
    if (!ev.success) return next();
    try {
      await d.db.events.create({ _id: ev.data.event_id, type: ev.data.event.type, at: d.now() });
    } catch (err) {
      if (isDuplicateKey(err)) return d.logger.info({ eventId: ev.data.event_id }, 'slack event retry ignored');
      throw err;
    }
    await next();
  });
}

/** Events are acknowledged by Bolt before listeners run; listeners only queue. */
export function registerEvents(app: App, d: SlackHandlerDeps) {
  app.event('app_mention', async ({ event }) => {
    const e = appMentionSchema.safeParse(event);
    if (!e.success) return;
    const { channel, ts, user, text } = e.data;
    await d.enqueue({
      kind: 'mention',
      channel,
      ts,
      user,
      text,
      mention: true,
      ...(e.data.thread_ts ? { threadTs: e.data.thread_ts } : {}),
    });
  });

  // Replies in a thread where the intake agent asked a question; the job ignores threads without a conversation.
  app.event('message', async ({ event }) => {
    const e = threadMessageSchema.safeParse(event);
    if (!e.success) return;
    const { channel, ts, user, text, thread_ts: threadTs } = e.data;
    await d.enqueue({ kind: 'mention', channel, ts, user, text, mention: false, threadTs });
  });

  app.event('app_home_opened', async ({ event }) => {
    const e = appHomeOpenedSchema.safeParse(event);
    if (!e.success || (e.data.tab && e.data.tab !== 'home')) return;
    await d.enqueue({ kind: 'home', user: e.data.user });
  });
}
