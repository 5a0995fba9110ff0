import type { Connection } from 'mongoose';
import { Schema } from 'mongoose';

/**
 * What email adds to the store: the IMAP cursor, one document per inbound message (its claim), threads (which
 * Message-IDs belong to which case and how often we wrote), and attachment bytes by hash.
 * Same FerretDB rules as src/store/models.ts: atomicity from unique `_id`s and single-document updates.
 */

interface CursorDoc {
  _id: string; // `${account}|${mailbox}`
  uidValidity: string; // bigint as text
  lastUid: number;
  updatedAt: Date;
}

export type MessageStatus = 'processing' | 'done' | 'ignored' | 'quarantined';

export interface AttachmentMeta {
  filename: string;
  contentType: string;
  sha256: string;
  size: number;
  inline: boolean;
  /** Text for agents (text files, forwarded messages); untrusted like the body. */
  text?: string;
}

interface AuthenticationDoc {
  authservId: string | null;
  spf: string | null;
  dkim: string | null;
  dmarc: string | null;
  verdict: 'pass' | 'fail' | 'none';
  ignored: number;
}

export interface MessageDoc {
  _id: string; // claim key: `mid:<sha256 of Message-ID>` or `uid:<account>|<mailbox>|<uidValidity>|<uid>`
  v: number;
  status: MessageStatus;
  reason?: string;
  lease?: { owner: string; until: Date } | null;
  account: string;
  mailbox: string;
  uidValidity: string;
  uid: number;
  messageId: string;
  from: string;
  fromName?: string;
  subject: string;
  /** Normalised text (no zero-width characters), at most 20,000 characters. */
  text?: string;
  attachments: AttachmentMeta[];
  authentication?: AuthenticationDoc;
  threadKey?: string;
  /** The run this message started or was attached to. */
  runId?: string;
  /** `new` started a case, `follow-up` joined one. */
  kind?: 'new' | 'follow-up';
  /** Order within the thread, for "messages since". */
  seq: number;
  receivedAt: Date;
  appendedAt?: Date;
  updatedAt: Date;
}

export interface ThreadDoc {
  _id: string; // the Message-ID of the customer's first message
  v: number;
  subject: string;
  customer: string;
  /** Every Message-ID of the thread, ours included, so a reply to any of them finds it. */
  messageIds: string[];
  /** `intake` while asking the customer for details; `case` once the dispute runs. */
  stage: 'intake' | 'case' | 'closed';
  intakeRunId?: string;
  caseRunId?: string;
  /** When we wrote to this thread: the per-thread cap counts these. */
  writes: Date[];
  lastSeq: number;
  createdAt: Date;
  updatedAt: Date;
}

interface AttachmentDoc {
  _id: string; // sha256
  contentType: string;
  size: number;
  data: Buffer;
  createdAt: Date;
}

const opts = { versionKey: false, minimize: false, strict: true } as const;
const mixed = Schema.Types.Mixed;

// One set of models per connection: the app and tests may ask more than once, mongoose refuses redefinitions.
const built = new WeakMap<Connection, EmailStore>();

export function emailModels(conn: Connection): EmailStore {
  let models = built.get(conn);
  if (!models) {
    models = define(conn);
    built.set(conn, models);
  }
  return models;
}

function define(conn: Connection) {
  const cursors = conn.model<CursorDoc>(
    'EmailCursor',
    new Schema<CursorDoc>(
      { _id: String, uidValidity: String, lastUid: Number, updatedAt: Date },
      { ...opts, collection: 'email_cursors' },
    ),
  );
  const messages = conn.model<MessageDoc>(
    'EmailMessage',
    new Schema<MessageDoc>(
      {
        _id: String,
        v: Number,
        status: String,
        reason: String,
        lease: { type: mixed, default: null },
        account: String,
        mailbox: String,
        uidValidity: String,
        uid: Number,
        messageId: String,
        from: String,
        fromName: String,
        subject: String,
        text: String,
        attachments: mixed,
        authentication: mixed,
        threadKey: { type: String, index: true },
        runId: { type: String, index: true },
        kind: String,
        seq: Number,
        receivedAt: Date,
        appendedAt: Date,
        updatedAt: Date,
      },
      { ...opts, collection: 'email_messages' },
    ),
  );
  const threads = conn.model<ThreadDoc>(
    'EmailThread',
    new Schema<ThreadDoc>(
      {
        _id: String,
        v: Number,
        subject: String,
        customer: { type: String, index: true },
        messageIds: { type: [String], index: true },
        stage: String,
        intakeRunId: String,
        caseRunId: String,
        writes: [Date],
        lastSeq: Number,
        createdAt: Date,
        updatedAt: Date,
      },
      { ...opts, collection: 'email_threads' },
    ),
  );
  const attachments = conn.model<AttachmentDoc>(
    'EmailAttachment',
    new Schema<AttachmentDoc>(
      { _id: String, contentType: String, size: Number, data: Buffer, createdAt: Date },
      { ...opts, collection: 'email_attachments' },
    ),
  );
  return { cursors, messages, threads, attachments };
}

export type EmailStore = ReturnType<typeof define>;

export async function ensureEmailIndexes(s: EmailStore): Promise<void> {
  await s.messages.createIndexes();
  await s.threads.createIndexes();
}
