import { z } from 'zod';
import { type CheckpointEmailContext, checkpointEmail } from '../../../templates/email/checkpoint.js';
import type { CheckpointChannel } from '../../engine/workers.js';
import type { CheckpointDoc, Store } from '../../store/models.js';
import type { Mailer } from '../mailer.js';
import type { EmailStore } from './store.js';

// Run input is read back from the store: parse what the email needs, ignore the rest, never trust its shape.
const caseInputSchema = z.object({
  origin: z
    .object({
      from: z.string(),
      authentication: z
        .object({
          spf: z.string().nullable(),
          dkim: z.string().nullable(),
          dmarc: z.string().nullable(),
          verdict: z.string(),
          ignored: z.number(),
        })
        .optional(),
    })
    .optional(),
  attachments: z
    .array(z.object({ filename: z.string(), contentType: z.string(), size: z.number(), sha256: z.string() }))
    .optional(),
});

export interface EmailChannelDeps {
  mailer: Mailer;
  store: Pick<Store, 'runs'>;
  email: EmailStore;
  /** A link to the confirmation page, signed for this one recipient. */
  linkFor(checkpoint: CheckpointDoc, recipient: string): string;
}

/** The case around a checkpoint: sender verification and files from the run input, later customer messages by runId. */
async function contextOf(deps: EmailChannelDeps, cp: CheckpointDoc): Promise<CheckpointEmailContext> {
  const run = await deps.store.runs.findById(cp.runId).lean();
  const input = caseInputSchema.safeParse(run?.input ?? {});
  const followUps = await deps.email.messages
    .find({ runId: cp.runId, kind: 'follow-up', status: 'done' })
    .sort({ receivedAt: 1 })
    .limit(10)
    .lean();
  return {
    ...(input.success && input.data.origin ? { origin: input.data.origin } : {}),
    attachments: input.success ? (input.data.attachments ?? []) : [],
    followUps: followUps.map((m) => ({ at: new Date(m.receivedAt), text: (m.text ?? '').slice(0, 2_000) })),
  };
}

/**
 * Emails each approver of a checkpoint (its approvers, which default to APPROVER_EMAILS) a link bound to them.
 * After a decision nothing needs updating: the links open a page that reads the checkpoint and shows who decided,
 * wherever they decided.
 */
export function emailCheckpointChannel(deps: EmailChannelDeps): CheckpointChannel {
  const sendAll = async (cp: CheckpointDoc, recipients: readonly string[], key: string, subjectPrefix?: string) => {
    const context = await contextOf(deps, cp);
    for (const recipient of new Set(recipients.map((r) => r.toLowerCase()))) {
      const mail = checkpointEmail(cp, deps.linkFor(cp, recipient), context);
      const subject = subjectPrefix ? `${subjectPrefix}: ${mail.subject}` : mail.subject;
      await deps.mailer.send({ to: [recipient], ...mail, subject }, `${key}/${recipient}`, 'checkpoint');
    }
  };
  return {
    name: 'email',
    onCreated: (cp) => sendAll(cp, cp.approvers.emails, `checkpoint/${cp._id}`),
    async onDecided() {},
    onReminder: (cp, n) => sendAll(cp, cp.approvers.emails, `checkpoint/${cp._id}/reminder-${n}`, 'Reminder'),
    onEscalated: (cp) => sendAll(cp, cp.approvers.emails, `checkpoint/${cp._id}/escalated`, 'Escalated'),
  };
}
