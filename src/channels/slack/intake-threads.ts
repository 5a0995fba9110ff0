import { type Connection, type Model, Schema } from 'mongoose';
import { z } from 'zod';
import type { Failpoints } from '../../engine/failpoints.js';
import { NonRetryable, Retryable } from '../../errors.js';
import { throughOutage } from '../../outage-retry.js';
import { isDuplicateKey, type Store } from '../../store/models.js';
import type { Outbox } from './outbox.js';

/**
 * A request told to the bot in a Slack thread (the mention workflow a module declares), kept like an email thread: the thread (which run reads it, and
 * whether it is still gathering input) and every message written in it that the run must read. The run waits
 * durably; handlers write the message first and then wake the run, so a crash in between loses nothing.
 */

/** The event a reply in the thread sends to the waiting `slack-intake` run; the key is `<channel>:<thread_ts>`. */
export const SLACK_REPLY_EVENT = 'slack-reply';

export interface SlackIntakeThreadDoc {
  _id: string; // `${channel}:${threadTs}`
  channel: string;
  threadTs: string;
  intakeRunId: string;
  /** intake: the run is gathering input; case: the case it gathered started; closed: intake gave up. */
  stage: 'intake' | 'case' | 'closed';
  /** The case run the intake started (the field name predates modules; kept so stored threads still read). */
  disputeRunId?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface SlackIntakeMessageDoc {
  _id: string; // `${channel}:${ts}`
  threadKey: string;
  ts: string;
  user: string;
  text: string;
  at: Date;
}

const opts = { versionKey: false, minimize: false, strict: true } as const;

export function slackIntakeModels(conn: Connection) {
  const threads =
    conn.models.SlackIntakeThread ??
    conn.model<SlackIntakeThreadDoc>(
      'SlackIntakeThread',
      new Schema<SlackIntakeThreadDoc>(
        {
          _id: String,
          channel: String,
          threadTs: String,
          intakeRunId: String,
          stage: String,
          disputeRunId: String,
          createdAt: Date,
          updatedAt: Date,
        },
        { ...opts, collection: 'slack_intake_threads' },
      ),
    );
  const messages =
    conn.models.SlackIntakeMessage ??
    conn.model<SlackIntakeMessageDoc>(
      'SlackIntakeMessage',
      new Schema<SlackIntakeMessageDoc>(
        { _id: String, threadKey: String, ts: String, user: String, text: String, at: Date },
        { ...opts, collection: 'slack_intake_messages' },
      ),
    );
  return {
    threads: threads as Model<SlackIntakeThreadDoc>,
    messages: messages as Model<SlackIntakeMessageDoc>,
  };
}
export type SlackIntakeModels = ReturnType<typeof slackIntakeModels>;

export const threadKeyOf = (channel: string, threadTs: string) => `${channel}:${threadTs}`;

export function findIntakeThread(models: SlackIntakeModels, key: string): Promise<SlackIntakeThreadDoc | null> {
  return models.threads.findById(key).lean<SlackIntakeThreadDoc>().exec();
}

/** Marks a thread as gathering input for `intakeRunId` (idempotent: the first run to open it keeps it). */
export async function openIntakeThread(
  models: SlackIntakeModels,
  t: { key: string; channel: string; threadTs: string; intakeRunId: string },
  now: Date,
): Promise<void> {
  await models.threads.updateOne(
    { _id: t.key },
    {
      $setOnInsert: {
        channel: t.channel,
        threadTs: t.threadTs,
        intakeRunId: t.intakeRunId,
        stage: 'intake',
        createdAt: now,
      },
      $set: { updatedAt: now },
    },
    { upsert: true },
  );
}

/** Stores a message of the thread; a redelivery of the same message is a no-op. */
export async function recordThreadMessage(
  models: SlackIntakeModels,
  m: { channel: string; threadTs: string; ts: string; user: string; text: string; at: Date },
): Promise<void> {
  try {
    await models.messages.create({
      _id: `${m.channel}:${m.ts}`,
      threadKey: threadKeyOf(m.channel, m.threadTs),
      ts: m.ts,
      user: m.user,
      text: m.text,
      at: m.at,
    });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
  }
}

/** Slack timestamps as numbers; when a double cannot tell two apart (16 digits), their equal-length text can. */
const tsOrder = (a: string, b: string) => Number(a) - Number(b) || a.localeCompare(b);

/** The thread's messages written after `afterTs`, oldest first. */
export async function threadMessagesAfter(
  models: SlackIntakeModels,
  threadKey: string,
  afterTs: string,
): Promise<{ ts: string; user: string; text: string }[]> {
  const docs = await models.messages.find({ threadKey }).lean();
  return docs
    .filter((d) => tsOrder(d.ts, afterTs) > 0)
    .sort((a, b) => tsOrder(a.ts, b.ts))
    .map((d) => ({ ts: d.ts, user: d.user, text: d.text }));
}

const REPLY_MARKER = 'countersign_reply';
const posted = z.object({ ts: z.string() }).loose();
const replies = z
  .object({
    messages: z
      .array(
        z
          .object({
            ts: z.string(),
            metadata: z
              .object({ event_type: z.string(), event_payload: z.record(z.string(), z.unknown()).optional() })
              .loose()
              .optional(),
          })
          .loose(),
      )
      .default([]),
  })
  .loose();

/**
 * Posts `text` in a thread once per `effectKey`, however often the calling step is retried. The effect is marked
 * `sending` before the post and `done` with the ts after it; a retry that finds `sending` (the worker died in
 * between) looks for our marker in the message metadata of the thread before posting again.
 */
export async function postInThreadOnce(
  deps: { outbox: Outbox; store: Pick<Store, 'effects'>; failpoints?: Failpoints },
  o: { channel: string; threadTs: string; text: string; effectKey: string; kind: string },
): Promise<{ ts: string; skipped: boolean }> {
  const _id = `slack:${o.effectKey}`;
  const now = new Date();
  const effect = await deps.store.effects
    .findOneAndUpdate(
      { _id },
      {
        $setOnInsert: { v: 1, kind: o.kind, status: 'sending', createdAt: now },
        $inc: { attempts: 1 },
        $set: { updatedAt: now },
      },
      { upsert: true, returnDocument: 'after' },
    )
    .lean();
  const done = z.object({ ts: z.string() }).safeParse(effect?.detail);
  if (effect?.status === 'done' && done.success) return { ts: done.data.ts, skipped: true };
  if ((effect?.attempts ?? 1) > 1) {
    const earlier = await deps.outbox.call(
      'conversations.replies',
      { channel: o.channel, ts: o.threadTs, include_all_metadata: true, limit: 200 },
      replies,
    );
    if (!earlier.ok && earlier.retryable) throw new Retryable(`conversations.replies failed: ${earlier.error}`);
    const found = earlier.ok
      ? earlier.value.messages.find(
          (m) => m.metadata?.event_type === REPLY_MARKER && m.metadata.event_payload?.effect === o.effectKey,
        )
      : undefined;
    if (found) {
      await markDone(deps.store, _id, found.ts);
      return { ts: found.ts, skipped: true };
    }
  }
  const res = await deps.outbox.call(
    'chat.postMessage',
    {
      channel: o.channel,
      thread_ts: o.threadTs,
      text: o.text,
      metadata: { event_type: REPLY_MARKER, event_payload: { effect: o.effectKey } },
    },
    posted,
    o.channel,
  );
  if (!res.ok) {
    const message = `chat.postMessage failed: ${res.error}`;
    throw res.retryable ? new Retryable(message) : new NonRetryable(message);
  }
  deps.failpoints?.hit(`after-slack-post:${o.kind}`);
  await markDone(deps.store, _id, res.value.ts);
  return { ts: res.value.ts, skipped: false };
}

async function markDone(store: Pick<Store, 'effects'>, _id: string, ts: string) {
  // Posted: a `done` lost to an outage would have the next try post it again.
  await throughOutage(() =>
    store.effects.updateOne({ _id }, { $set: { status: 'done', detail: { ts }, updatedAt: new Date() } }),
  );
}
