import type { App } from '@slack/bolt';
import { z } from 'zod';
import { claimDelivery, releaseDelivery } from '../../src/channels/slack/collections.js';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import { infrastructureFault } from '../../src/infra-errors.js';
import { throughOutage } from '../../src/outage-retry.js';
import { appHomeOpenedSchema, appMentionSchema, threadMessageSchema } from './payloads.js';

const eventEnvelope = z
  .object({ type: z.literal('event_callback'), event_id: z.string(), event: z.object({ type: z.string() }).loose() })
  .loose();

/** A person's interaction; its trigger_id is unique to that one click, submission or shortcut. */
const interaction = z
  .object({
    type: z.enum(['block_actions', 'view_submission', 'shortcut', 'message_action']),
    trigger_id: z.string().min(1),
  })
  .loose();

/** How long an acknowledged event waits in this process for the store or Redis to come back. */
const OUTAGE_PATIENCE_MS = 120_000;

/**
 * Bolt acknowledges an event before any of our code runs, so Slack will not deliver it again: an event that meets
 * an outage after its 200 is kept here and retried until the store and Redis take it (or the patience runs out,
 * logged with the event's id). The HTTP side answers 503 (and Slack retries) once the outage is known, so only the
 * events that arrive as it begins wait here.
 */
async function throughOutageLogged<T>(d: SlackHandlerDeps, what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await throughOutage(work, OUTAGE_PATIENCE_MS);
  } catch (err) {
    if (infrastructureFault(err)) d.logger.error({ what }, 'slack event lost to an outage that outlasted the wait');
    throw err;
  }
}

/** The claim one delivery of `body` takes, or undefined for requests that are never delivered twice. */
function deliveryKey(body: unknown): { _id: string; type: string } | undefined {
  const ev = eventEnvelope.safeParse(body);
  if (ev.success) return { _id: ev.data.event_id, type: ev.data.event.type };
  const it = interaction.safeParse(body);
  if (it.success) return { _id: `trigger:${it.data.trigger_id}`, type: it.data.type };
  return undefined;
}

/**
 * Slack delivers again what it thinks we missed: Events API retries (X-Slack-Retry-Num) carry the same event_id,
 * and Socket Mode re-sends an envelope that was not acknowledged, with the same payload (so the same event_id or
 * trigger_id). The first delivery inserts the id; a later one finds it taken, is acknowledged and stops here, so
 * one mention starts one conversation and one click decides once.
 */
export function registerEventDedupe(app: App, d: SlackHandlerDeps) {
  app.use(async (args) => {
    const key = deliveryKey(args.body);
    if (!key) return args.next();
    const claim = () => claimDelivery(d.db, { ...key, at: d.now() });
    // An event was acknowledged already; an interaction is not yet, and must be within 3 seconds: no waiting.
    const claimed = eventEnvelope.safeParse(args.body).success
      ? await throughOutageLogged(d, key._id, claim)
      : await claim();
    if (!claimed) {
      // Events are acknowledged by Bolt before middleware runs; an interaction must be acknowledged here.
      if ('ack' in args && typeof args.ack === 'function') await (args.ack as () => Promise<void>)();
      return d.logger.info({ deliveryId: key._id, type: key.type }, 'slack redelivery ignored');
    }
    try {
      await args.next();
    } catch (err) {
      // Nothing was done: give the id back so Slack's next delivery is handled, not dropped.
      await releaseDelivery(d.db, key._id).catch((releaseErr: unknown) =>
        d.logger.error(
          { deliveryId: key._id, err: (releaseErr as Error).message },
          'slack delivery failed and its claim could not be released; a redelivery will be ignored',
        ),
      );
      throw err;
    }
  });
}

/** Events are acknowledged by Bolt before listeners run; listeners only queue. */
export function registerEvents(app: App, d: SlackHandlerDeps) {
  app.event('app_mention', async ({ event }) => {
    const e = appMentionSchema.safeParse(event);
    if (!e.success) return d.logger.warn({ issues: e.error.issues.length }, 'unreadable app_mention ignored');
    const { channel, ts, user, text } = e.data;
    const job = {
      kind: 'mention' as const,
      channel,
      ts,
      user,
      text,
      mention: true,
      ...(e.data.thread_ts ? { threadTs: e.data.thread_ts } : {}),
    };
    await throughOutageLogged(d, `mention ${channel}/${ts}`, () => d.enqueue(job));
  });

  // Replies in a thread where the intake agent asked a question; the job ignores threads without a conversation.
  // Top-level messages, edits, deletions, joins and bot posts are not replies: they stop here.
  app.event('message', async ({ event }) => {
    const e = threadMessageSchema.safeParse(event);
    if (!e.success) return;
    const { channel, ts, user, text, thread_ts: threadTs } = e.data;
    const job = { kind: 'mention' as const, channel, ts, user, text, mention: false, threadTs };
    await throughOutageLogged(d, `reply ${channel}/${ts}`, () => d.enqueue(job));
  });

  app.event('app_home_opened', async ({ event }) => {
    const e = appHomeOpenedSchema.safeParse(event);
    if (!e.success) return d.logger.warn({ issues: e.error.issues.length }, 'unreadable app_home_opened ignored');
    if (e.data.tab && e.data.tab !== 'home') return;
    await throughOutageLogged(d, `home ${e.data.user}`, () => d.enqueue({ kind: 'home', user: e.data.user }));
  });
}
