import type { Connection } from 'mongoose';
import { Schema } from 'mongoose';
import { ensureIndexes, INDEXES } from '../../store/indexes.js';

/**
 * What email adds to the store: the IMAP cursor, one document per inbound message (its claim), threads (one per
 * case, with the follow-ups' Message-IDs and our sent mail appended beside them), and attachment bytes by hash.
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
  /**
   * Who processes it until when. `gen` counts takeovers: generation g > 1 belongs to whoever inserted the claim
   * `lease:<_id>:<g>` in `email_claims` (the first is the message's own insert); absent on documents written
   * before generations existed, which count as generation 1.
   */
  lease?: { owner: string; until: Date; gen?: number } | null;
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

/**
 * One customer thread. FerretDB rewrites a whole document on update, so it has ONE writer: the mailbox reader
 * inserts it (unique `_id`), and afterwards only its intake run updates it (`stage`, `caseRunId`), one pass at a
 * time under the run's lease. What many writers add to a thread is appended elsewhere: follow-ups' Message-IDs
 * and sequence numbers in `email_thread_ids` / `email_claims`, our messages in `email_sent`.
 */
export interface ThreadDoc {
  _id: string; // the Message-ID of the customer's first message
  v: number;
  subject: string;
  customer: string;
  /**
   * The Message-IDs known when the thread was opened. Documents written before `email_thread_ids` existed also
   * hold later ones here (ours included), so lookups still read it.
   */
  messageIds: string[];
  /** `intake` while asking the customer for details; `case` once the dispute runs. */
  stage: 'intake' | 'case' | 'closed';
  /** Written by earlier versions only; the intake run is now found from the thread's first message. */
  intakeRunId?: string;
  caseRunId?: string;
  /** Written by earlier versions only (the per-thread cap now counts `email_sent`); still read as history. */
  writes?: Date[];
  /**
   * The highest sequence number handed out before sequence claims existed (1 for the opening message): claims
   * `seq:<threadKey>:<n>` continue after it. Never updated by this version.
   */
  lastSeq: number;
  createdAt: Date;
  updatedAt: Date;
}

/** Which thread a customer's follow-up belongs to, by its Message-ID: inserted once, never updated. */
interface ThreadIdDoc {
  _id: string; // the follow-up's Message-ID, `<…>`
  threadKey: string;
  /** Its order in the thread, from the claim `seq:<threadKey>:<seq>`. */
  seq: number;
  messageKey: string;
  at: Date;
}

/**
 * An exactly-once moment of the mailbox reader, won by inserting its `_id` first: `lease:<message key>:<gen>`
 * (taking over a dead reader's message) and `seq:<threadKey>:<n>` (a follow-up's place in its thread).
 */
interface EmailClaimDoc {
  _id: string;
  /** The message claim key that won it. */
  by: string;
  at: Date;
}

/** One of our messages to a customer, by Message-ID: a reply naming it is a reply to us. */
export interface SentDoc {
  _id: string; // our Message-ID, `<…@domain>`
  to: string;
  kind: string;
  /** Sent without a person's decision (receipt, question, refusal, no-answer). */
  automatic: boolean;
  threadKey: string;
  runId?: string;
  sentAt: Date;
}

/** Why an automatic message was not sent, or an inbound one not answered: the loop breakers' record. */
export type SuppressionReason = 'address-limit' | 'thread-limit' | 'reply-to-automatic';

export interface SuppressedDoc {
  _id: string; // `send:<effectKey>` for a send held back, `inbound:<message claim key>` for mail not answered
  address: string;
  reason: SuppressionReason;
  /** What would have gone out (`email-receipt`, …), or `inbound` for a message we chose not to answer. */
  kind: string;
  threadKey?: string;
  runId?: string;
  messageKey?: string;
  detail: string;
  at: Date;
}

/**
 * A claim on one automatic message to an address: `auto:<address>:<n>`, n = 1, 2, 3… in the order claimed.
 * Inserts only (exact on FerretDB, where counters lose updates); claim n may be taken only when claim n-limit
 * is older than the window, so no window ever holds more than `limit` of them.
 */
export interface AutoSlotDoc {
  _id: string;
  address: string;
  n: number;
  /** The send that holds it, so a retry of that send reuses it (`effect:<effectKey>` docs point back). */
  effectKey: string;
  at: Date;
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
        threadKey: String,
        runId: String,
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
        customer: String,
        messageIds: [String],
        stage: String,
        intakeRunId: String,
        caseRunId: String,
        writes: { type: [Date], default: undefined },
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
  const sent = conn.model<SentDoc>(
    'EmailSent',
    new Schema<SentDoc>(
      { _id: String, to: String, kind: String, automatic: Boolean, threadKey: String, runId: String, sentAt: Date },
      { ...opts, collection: 'email_sent' },
    ),
  );
  const threadIds = conn.model<ThreadIdDoc>(
    'EmailThreadId',
    new Schema<ThreadIdDoc>(
      { _id: String, threadKey: String, seq: Number, messageKey: String, at: Date },
      { ...opts, collection: 'email_thread_ids' },
    ),
  );
  const claims = conn.model<EmailClaimDoc>(
    'EmailClaim',
    new Schema<EmailClaimDoc>({ _id: String, by: String, at: Date }, { ...opts, collection: 'email_claims' }),
  );
  const suppressed = conn.model<SuppressedDoc>(
    'EmailSuppressed',
    new Schema<SuppressedDoc>(
      {
        _id: String,
        address: String,
        reason: String,
        kind: String,
        threadKey: String,
        runId: String,
        messageKey: String,
        detail: String,
        at: Date,
      },
      { ...opts, collection: 'email_suppressed' },
    ),
  );
  const autoSlots = conn.model<AutoSlotDoc>(
    'EmailAutoSlot',
    new Schema<AutoSlotDoc>(
      { _id: String, address: String, n: Number, effectKey: String, at: Date },
      { ...opts, collection: 'email_auto_slots' },
    ),
  );
  return { cursors, messages, threads, attachments, sent, suppressed, autoSlots, threadIds, claims };
}

export type EmailStore = ReturnType<typeof define>;

/** Builds the email collections' indexes, which src/store/indexes.ts lists with every other. */
export async function ensureEmailIndexes(s: EmailStore): Promise<void> {
  const db = s.messages.db.db;
  if (!db) throw new Error('the store is not connected');
  await ensureIndexes(
    db,
    INDEXES.filter((i) => i.collection.startsWith('email_')),
  );
}
