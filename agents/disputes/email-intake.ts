import {
  EMAIL_REPLY_EVENT,
  type FollowUp,
  followUpSchema,
  type InboundEmail,
  inboundEmailSchema,
} from '../../src/channels/email/inbound.js';
import { threadMessageIds } from '../../src/channels/email/intake-records.js';
import type { EmailStore } from '../../src/channels/email/store.js';
import type { ThreadMail, ThreadSend } from '../../src/channels/email/thread-mail.js';
import type { ThreadRef } from '../../src/channels/email/threading.js';
import type { Engine } from '../../src/engine/types.js';
import { defineWorkflow } from '../../src/engine/workflow.js';
import { noAnswerText, questionText, receiptText } from '../../templates/email/customer.js';
import { kindOf, triageCheckpoint, understoodFrom } from './email-triage.js';
import {
  completeDispute,
  EMPTY_INTAKE_FIELDS,
  type IntakeAgent,
  type IntakeFields,
  type IntakeKind,
  mergeIntakeFields,
  questionFor,
} from './intake-agent.js';
import { CARD_DISPUTE } from './workflow.js';

export const EMAIL_INTAKE = 'email-intake';
/** Questions before we stop asking; each needs an answer from the customer, so this also bounds our writes. */
const MAX_QUESTIONS = 3;
const ANSWER_WAIT_MS = 7 * 24 * 3_600_000;

export interface EmailIntakeDeps {
  intakeAgent: IntakeAgent;
  threadMail: ThreadMail;
  email: EmailStore;
  /** Read lazily: the engine is built after the workflows it runs. */
  engine(): Engine;
}

export interface EmailIntakeOutput {
  /** `closed`: a person triaged it as not a dispute (or rejected it). */
  status: 'started' | 'incomplete' | 'no-answer' | 'closed';
  disputeRunId: string | null;
  missing: string[];
  /** How the intake agent read the first message. */
  kind?: IntakeKind;
  /** Automatic messages held back by a loop breaker (also in `email_suppressed`). */
  suppressed?: { step: string; reason: string; detail: string }[];
}

/**
 * Mail that arrives at the disputes address: the intake agent reads and classifies it first, then the receipt
 * says what was understood. A dispute continues: ask the customer in the same thread for what is missing
 * (waiting durably for their answer), then start `card-dispute` once. Anything else waits for a person's triage.
 */
export function createEmailIntakeWorkflow(deps: EmailIntakeDeps) {
  return defineWorkflow<InboundEmail, EmailIntakeOutput>({
    name: EMAIL_INTAKE,
    input: inboundEmailSchema,
    async run(ctx, mail) {
      const name = mail.from.name;
      const suppressed: NonNullable<EmailIntakeOutput['suppressed']> = [];
      const noteHeldBack = (step: string, send: ThreadSend) => {
        if (!send.sent) suppressed.push({ step, reason: send.reason, detail: send.detail });
      };
      // Noted from the step's result, so a replayed pass (which returns the journaled result) notes it too.
      const send = async (step: string, ref: ThreadRef, text: string, kind: string, automatic = true) => {
        const sent = await ctx.step(step, ({ idempotencyKey }) =>
          deps.threadMail.send(mail.threadKey, ref, { text }, idempotencyKey, kind, { automatic, runId: ctx.runId }),
        );
        noteHeldBack(step, sent);
        return sent;
      };
      const read = (round: number, text: string, known: IntakeFields, attachments: InboundEmail['attachments']) =>
        ctx.agent(
          deps.intakeAgent,
          {
            source: 'email' as const,
            text,
            subject: mail.subject,
            sender: { email: mail.from.address, name: name || null },
            known,
            attachments: attachments.flatMap((a) => (a.text ? [{ filename: a.filename, text: a.text }] : [])),
          },
          { id: `intake-${round}` },
        );

      const first = await read(0, mail.text, EMPTY_INTAKE_FIELDS, mail.attachments);
      const kind = kindOf(first);
      const receipt = await send(
        'send-receipt',
        mail.thread,
        receiptText(name, understoodFrom(kind, mergeIntakeFields(EMPTY_INTAKE_FIELDS, first.fields))),
        'email-receipt',
      );
      const finish = (out: Omit<EmailIntakeOutput, 'kind' | 'suppressed'>): EmailIntakeOutput => ({
        ...out,
        kind,
        suppressed,
      });

      if (kind !== 'dispute') {
        const triage = await ctx.checkpoint('triage', triageCheckpoint(mail, first, receipt));
        if (triage.decision === 'reject' || triage.values.action === 'close') {
          const reply = triage.decision === 'approve' ? triage.values.reply.trim() : '';
          // Written by a person: not automatic, so the per-address limit does not apply (the per-thread cap still does).
          if (reply) await send('send-triage-reply', mail.thread, reply, 'email-triage-reply', false);
          await ctx.step('close-triaged', () => closeThread(deps.email, mail.threadKey));
          return finish({ status: 'closed', disputeRunId: null, missing: [] });
        }
      }

      let known: IntakeFields = EMPTY_INTAKE_FIELDS;
      let text = mail.text;
      let attachments = mail.attachments;
      let ref = mail.thread;
      let lastSeq = 1;
      for (let round = 0; ; round++) {
        const result = round === 0 ? first : await read(round, text, known, attachments);
        known = mergeIntakeFields(known, result.fields);
        const done = completeDispute(known, { attachments: attachments.slice(0, 20) });
        if (done.ok) {
          const disputeRunId = await ctx.step('start-dispute', async () => {
            const input = {
              ...done.input,
              thread: ref,
              origin: { channel: 'email', from: mail.from.address, authentication: mail.authentication },
            };
            const started = await deps.engine().startRun({
              workflow: CARD_DISPUTE,
              input,
              idempotencyKey: `email-intake:${ctx.runId}`,
              source: { channel: 'email', key: mail.thread.messageId },
            });
            // From now on the customer's messages in this thread attach to the case instead of waking intake.
            // This run is the thread document's only writer after the reader inserted it (see ThreadDoc).
            await deps.email.threads.updateOne(
              { _id: mail.threadKey },
              { $set: { stage: 'case', caseRunId: started.runId, updatedAt: new Date() } },
            );
            return started.runId;
          });
          return finish({ status: 'started', disputeRunId, missing: [] });
        }
        if (round >= MAX_QUESTIONS) {
          await ctx.step('close-incomplete', () => closeThread(deps.email, mail.threadKey));
          return finish({ status: 'incomplete', disputeRunId: null, missing: done.missing });
        }
        const question = result.question?.trim() || questionFor(done.missing, 'email') || '';
        await send(`ask-${round}`, ref, questionText(name, question), 'email-question');
        const answered = await ctx.waitForEvent(`answer-${round}`, {
          name: EMAIL_REPLY_EVENT,
          key: mail.threadKey,
          timeoutMs: ANSWER_WAIT_MS,
        });
        if (answered === null) {
          await send('send-no-answer', ref, noAnswerText(name), 'email-no-answer');
          await ctx.step('close-no-answer', () => closeThread(deps.email, mail.threadKey));
          return finish({ status: 'no-answer', disputeRunId: null, missing: done.missing });
        }
        // The event only says "something arrived": the thread's stored messages are the truth, in order.
        const replies = await ctx.step(`read-answer-${round}`, () =>
          followUpsSince(deps.email, mail.threadKey, lastSeq),
        );
        if (replies.length > 0) {
          lastSeq = Math.max(...replies.map((r) => r.seq));
          text = replies.map((r) => r.text).join('\n\n');
          attachments = [...attachments, ...replies.flatMap((r) => r.attachments)].slice(0, 20);
          const latest = replies.at(-1);
          if (latest) ref = latest.thread;
        } else {
          text = '';
        }
      }
    },
  });
}

async function closeThread(email: EmailStore, threadKey: string): Promise<null> {
  await email.threads.updateOne({ _id: threadKey }, { $set: { stage: 'closed', updatedAt: new Date() } });
  return null;
}

/** The customer's messages in the thread after `seq`, as zod-checked follow-ups. */
async function followUpsSince(
  email: EmailStore,
  threadKey: string,
  seq: number,
): Promise<(FollowUp & { seq: number })[]> {
  const docs = await email.messages
    .find({ threadKey, status: 'done', kind: 'follow-up', seq: { $gt: seq } })
    .sort({ seq: 1 })
    .lean();
  const thread = await email.threads.findById(threadKey).lean();
  const known = thread ? await threadMessageIds(email, thread) : [];
  return docs.map((d) => ({
    seq: d.seq,
    ...followUpSchema.parse({
      messageKey: d._id,
      text: d.text ?? '',
      attachments: d.attachments
        .filter((a) => !a.inline)
        .map(({ inline: _inline, ...a }) => a)
        .slice(0, 20),
      thread: {
        messageId: d.messageId,
        // Everything known in the thread, oldest first: enough for any client to place our reply.
        references: known.filter((id) => id !== d.messageId).slice(0, 50),
        subject: d.subject,
        to: d.from,
      },
    }),
  }));
}
