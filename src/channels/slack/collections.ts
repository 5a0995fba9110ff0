import { type Connection, type Model, Schema } from 'mongoose';
import { isDuplicateKey } from '../../duplicate-key.js';

/**
 * Slack's own collections, beside the engine's: where each card was posted (so every copy can be updated in
 * place), which Events API deliveries were seen (retries carry the same event_id), what a mention conversation
 * has gathered so far, and which Slack errors a checkpoint met.
 */

export interface SlackMessageDoc {
  _id: string; // `${checkpointId}:${channel}`
  checkpointId: string;
  channel: string;
  /** Empty while the post is in flight; a retried job then knows a post may have been made. */
  ts: string;
  kind: 'channel' | 'dm';
  createdAt: Date;
  updatedAt: Date;
}

export interface SlackEventDoc {
  _id: string; // Events API event_id, or `msg:${channel}:${ts}` for a message seen through two event types
  type: string;
  at: Date;
  /** The queue job that took the claim: a retry of that job (its worker died mid-way) may go on with it. */
  owner?: string;
}

export interface SlackIntakeDoc {
  _id: string; // `${channel}:${threadTs}`
  channel: string;
  threadTs: string;
  user: string;
  fields: Record<string, unknown>;
  runId?: string;
  updatedAt: Date;
}

export interface SlackErrorDoc {
  checkpointId?: string;
  runId?: string;
  method: string;
  channel?: string;
  error: string;
  at: Date;
}

const opts = { versionKey: false, minimize: false, strict: true } as const;

export function slackCollections(conn: Connection) {
  const messages =
    conn.models.SlackMessage ??
    conn.model<SlackMessageDoc>(
      'SlackMessage',
      new Schema<SlackMessageDoc>(
        {
          _id: String,
          checkpointId: String,
          channel: String,
          ts: String,
          kind: String,
          createdAt: Date,
          updatedAt: Date,
        },
        { ...opts, collection: 'slack_messages' },
      ),
    );
  const events =
    conn.models.SlackEvent ??
    conn.model<SlackEventDoc>(
      'SlackEvent',
      new Schema<SlackEventDoc>(
        { _id: String, type: String, at: Date, owner: String },
        { ...opts, collection: 'slack_events' },
      ),
    );
  const intakes =
    conn.models.SlackIntake ??
    conn.model<SlackIntakeDoc>(
      'SlackIntake',
      new Schema<SlackIntakeDoc>(
        {
          _id: String,
          channel: String,
          threadTs: String,
          user: String,
          fields: Schema.Types.Mixed,
          runId: String,
          updatedAt: Date,
        },
        { ...opts, collection: 'slack_intakes' },
      ),
    );
  const errors =
    conn.models.SlackError ??
    conn.model<SlackErrorDoc>(
      'SlackError',
      new Schema<SlackErrorDoc>(
        {
          checkpointId: String,
          runId: String,
          method: String,
          channel: String,
          error: String,
          at: Date,
        },
        { ...opts, collection: 'slack_errors' },
      ),
    );
  return {
    messages: messages as Model<SlackMessageDoc>,
    events: events as Model<SlackEventDoc>,
    intakes: intakes as Model<SlackIntakeDoc>,
    errors: errors as Model<SlackErrorDoc>,
  };
}

export type SlackCollections = ReturnType<typeof slackCollections>;

/**
 * Claims a Slack delivery (an event id, a trigger id, `msg:<channel>:<ts>`) before acting on it: false when an
 * earlier delivery of the same thing has it. `releaseDelivery` gives it back when acting failed, so a retry runs.
 */
export async function claimDelivery(db: SlackCollections, doc: SlackEventDoc): Promise<boolean> {
  try {
    await db.events.create(doc);
    return true;
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    // Taken already, perhaps by this same job on an attempt whose worker died before it finished or gave it back.
    if (doc.owner === undefined) return false;
    return (await db.events.exists({ _id: doc._id, owner: doc.owner })) !== null;
  }
}

export async function releaseDelivery(db: SlackCollections, id: string): Promise<void> {
  await db.events.deleteOne({ _id: id });
}
