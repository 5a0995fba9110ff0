import type { MessageStructureObject } from 'imapflow';
import type { Logger } from 'pino';
import { EMAIL_REPLY_EVENT, type InboundEmail, inboundEmailSchema } from '../../src/channels/email/inbound.js';
import {
  appendToThread,
  claimMessage,
  finishMessage,
  intakeRunOf,
  openThread,
  openThreadsWith,
  storeAttachment,
  threadsOpenedSince,
} from '../../src/channels/email/intake-records.js';
import type { AttachmentMeta, EmailStore, ThreadDoc } from '../../src/channels/email/store.js';
import type { ThreadMail } from '../../src/channels/email/thread-mail.js';
import type { Engine } from '../../src/engine/types.js';
import { refusalText } from '../../templates/email/customer.js';
import { classifyAutomatic, describeAutomatic } from './automatic.js';
import { claimKey } from './claim.js';
import { addressOf, first, messageIds, parseHeaderBlock, readAuthentication, senderOf, subjectOf } from './headers.js';
import { type AttachmentLimits, checkLimits } from './limits.js';
import { recordReplyToAutomatic, replyToAutomatic } from './own-replies.js';
import { type ParsedEmail, parseEmail } from './parse.js';
import { type EmailRoute, routeFor } from './routes.js';

export interface ProcessDeps {
  engine: Engine;
  email: EmailStore;
  threadMail: ThreadMail;
  logger: Logger;
  routes: readonly EmailRoute[];
  limits: AttachmentLimits;
  /** Our sending addresses: mail from them is our own coming back. */
  ownAddresses: readonly string[];
  /** The authserv-id of our receiving server; without it no Authentication-Results header is trusted. */
  authservId: string | undefined;
  /** New cases one sender may open per hour; more are quarantined (a loop or a flood, not a customer). */
  maxNewThreadsPerSenderPerHour: number;
  owner: string;
  now(): Date;
}

/** What the reader learned from the header fetch; the body is downloaded only when the checks let it through. */
export interface FetchedMessage {
  account: string;
  mailbox: string;
  uidValidity: string;
  uid: number;
  size: number | undefined;
  bodyStructure: MessageStructureObject | undefined;
  headers: Buffer;
  download(): Promise<Buffer>;
}

/** Where the message goes afterwards: `processed` and `quarantined` are folders; `busy` stays for now. */
export type Disposition = 'processed' | 'quarantined' | 'busy';

export async function processMessage(deps: ProcessDeps, m: FetchedMessage): Promise<Disposition> {
  const h = parseHeaderBlock(m.headers);
  const messageId = messageIds(first(h, 'message-id'))[0];
  const key = claimKey(messageId, m);
  const now = deps.now();
  const claim = await claimMessage(
    deps.email,
    {
      _id: key,
      account: m.account,
      mailbox: m.mailbox,
      uidValidity: m.uidValidity,
      uid: m.uid,
      messageId: messageId ?? `<${key}@countersign.invalid>`,
      from: addressOf(first(h, 'from')) ?? '',
      subject: subjectOf(h),
      receivedAt: now,
    },
    deps.owner,
    now,
  );
  if (claim.state === 'busy') return 'busy';
  if (claim.state === 'finished') return claim.doc.status === 'quarantined' ? 'quarantined' : 'processed';
  const log = deps.logger.child({ uid: m.uid, messageKey: key });
  const finish = async (status: 'done' | 'ignored' | 'quarantined', reason: string, fields = {}) => {
    await finishMessage(deps.email, key, status, { reason, ...fields }, deps.now());
    log.info({ status, reason }, 'email handled');
    return status === 'quarantined' ? 'quarantined' : 'processed';
  };

  const automatic = classifyAutomatic(h, deps.ownAddresses);
  if (automatic) return finish('ignored', describeAutomatic(automatic));

  const from = addressOf(first(h, 'from'));
  const limits = checkLimits(m.size, m.bodyStructure, deps.limits);
  if (!limits.ok) {
    if (from) await refuse(deps, key, messageId, h, from, limits.problems);
    return finish('quarantined', 'limits', { text: limits.problems.join('\n') });
  }

  const parsed = await parseEmail(await m.download(), `<${key}@countersign.invalid>`);
  if (!parsed.ok) return finish('quarantined', parsed.reason);
  const mail = parsed.email;
  // Before threading: a closed thread would otherwise turn an away notice into a new case and a new receipt.
  const toAutomatic = await replyToAutomatic(deps.email, mail);
  if (toAutomatic) {
    await recordReplyToAutomatic(deps.email, key, toAutomatic, deps.now());
    const { threadKey, runId } = toAutomatic.ours;
    return finish('ignored', 'reply-to-automatic', { text: mail.text, threadKey, ...(runId ? { runId } : {}) });
  }
  const authentication = readAuthentication(h, deps.authservId);
  const attachments = await storeAttachments(deps, mail);
  const common = { text: mail.text, attachments, authentication, fromName: mail.from.name };

  const thread = await findThread(deps.email, mail);
  if (thread) {
    const seq = await appendToThread(deps.email, thread, { messageId: mail.messageId, messageKey: key }, deps.now());
    const runId = thread.caseRunId ?? thread.intakeRunId ?? (await intakeRunOf(deps.email, thread._id));
    await finishMessage(
      deps.email,
      key,
      'done',
      { ...common, threadKey: thread._id, runId, kind: 'follow-up', seq },
      deps.now(),
    );
    // Written down first, then announced: the waiting run reads the thread's messages, not the event payload.
    if (thread.stage === 'intake') {
      await deps.engine.sendEvent({ name: EMAIL_REPLY_EVENT, key: thread._id, payload: { messageKey: key } });
    }
    log.info({ runId, stage: thread.stage }, 'email follow-up attached to its case');
    return 'processed';
  }

  const route = routeFor(deps.routes, mail);
  if (!route || !deps.engine.hasWorkflow(route.workflow)) return finish('quarantined', 'no-route', common);
  if (authentication.verdict === 'fail') return finish('quarantined', 'sender-authentication-failed', common);
  if (route.requireAuth === 'pass' && authentication.verdict !== 'pass')
    return finish('quarantined', 'sender-not-authenticated', common);
  const threadKey = mail.messageId;
  const hourAgo = new Date(deps.now().getTime() - 3_600_000);
  const recentThreads = await threadsOpenedSince(deps.email, mail.from.address, hourAgo);
  // A retry of this very message (the store or Redis went away after its thread was opened, before its run
  // started) counts its own thread among the recent ones; it is the same case, not one more.
  if (recentThreads >= deps.maxNewThreadsPerSenderPerHour && !(await openedBefore(deps.email, threadKey))) {
    return finish('quarantined', 'sender-rate', common);
  }

  const opened = { subject: mail.subject, customer: mail.from.address, messageIds: [mail.messageId] };
  await openThread(deps.email, threadKey, { ...opened, stage: 'intake', lastSeq: 1 }, deps.now());
  const input: InboundEmail = inboundEmailSchema.parse({
    messageKey: key,
    threadKey,
    from: mail.from,
    subject: mail.subject,
    text: mail.text,
    attachments: attachments
      .filter((a) => !a.inline)
      .map(({ inline: _inline, ...a }) => a)
      .slice(0, 20),
    thread: { messageId: mail.messageId, references: mail.references, subject: mail.subject, to: mail.from.address },
    authentication,
  });
  const { runId } = await deps.engine.startRun({
    workflow: route.workflow,
    input,
    idempotencyKey: `email:${key}`,
    source: { channel: 'email', key: mail.messageId },
  });
  await finish('done', `route:${route.name}`, { ...common, threadKey, runId, kind: 'new', seq: 1 });
  return 'processed';
}

/** Whether an earlier attempt at this message already opened its thread. */
async function openedBefore(email: EmailStore, threadKey: string): Promise<boolean> {
  return (await openThreadsWith(email, [threadKey])).some((t) => t._id === threadKey);
}

/** A reply to any Message-ID of an open thread (the customer's or ours) joins that thread. */
async function findThread(email: EmailStore, mail: ParsedEmail): Promise<ThreadDoc | null> {
  const ids = [...new Set([mail.inReplyTo, ...mail.references].filter((x): x is string => Boolean(x)))];
  if (ids.length === 0) return null;
  const threads = await openThreadsWith(email, ids);
  // The sender must be the thread's customer: someone else replying to a forwarded copy opens their own case.
  return threads.find((t) => t.customer === mail.from.address) ?? null;
}

async function storeAttachments(deps: ProcessDeps, mail: ParsedEmail): Promise<AttachmentMeta[]> {
  const out: AttachmentMeta[] = [];
  for (const a of mail.attachments) {
    await storeAttachment(deps.email, a, deps.now());
    const { content: _content, ...meta } = a;
    out.push(meta);
  }
  return out;
}

/** Tells a person (never an automatic sender) why their message was not accepted, once per message. */
async function refuse(
  deps: ProcessDeps,
  key: string,
  messageId: string | undefined,
  h: ReturnType<typeof parseHeaderBlock>,
  to: string,
  problems: string[],
): Promise<void> {
  if (!messageId) return;
  const subject = subjectOf(h);
  const name = senderOf(h)?.name ?? '';
  const refKey = `refusal:${messageId}`;
  const now = deps.now();
  await openThread(deps.email, refKey, { subject, customer: to, messageIds: [], stage: 'closed', lastSeq: 0 }, now);
  const ref = { messageId, references: messageIds(first(h, 'references')), subject, to };
  await deps.threadMail.send(
    refKey,
    ref,
    { text: refusalText(name, problems) },
    `email-refusal/${key}`,
    'email-refusal',
  );
}
