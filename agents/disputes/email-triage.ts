import { z } from 'zod';
import type { InboundEmail } from '../../src/channels/email/inbound.js';
import type { ThreadSend } from '../../src/channels/email/thread-mail.js';
import type { CheckpointSpec } from '../../src/engine/workflow.js';
import { triageReplyText, type Understood } from '../../templates/email/customer.js';
import type { IntakeFields, IntakeKind, IntakeResult } from './intake-agent.js';

/**
 * The human triage of mail the intake agent did not read as a dispute: a person decides whether it is one after
 * all (intake continues and may start `card-dispute`) or closes it, optionally with a reply they edit.
 */

const triageEditable = z.object({
  action: z
    .enum(['dispute', 'close'])
    .describe('dispute: treat it as a card dispute and continue; close: close it and send the reply, if any'),
  reply: z
    .string()
    .trim()
    .max(5_000, 'the reply may be at most 5,000 characters')
    .describe('Sent to the customer in their thread when closing; leave empty to close without a reply'),
});
export type TriageValues = z.infer<typeof triageEditable>;

const CLIP = 1_500;
const clip = (s: string) => (s.length > CLIP ? `${s.slice(0, CLIP - 1)}…` : s);

/** Journals written before classification existed hold no `kind`: those runs were all treated as disputes. */
export function kindOf(result: IntakeResult): IntakeKind {
  return (result as Partial<IntakeResult>).kind ?? 'dispute';
}

/**
 * What the receipt may repeat to the customer. Only values that pass the dispute schema's own patterns: the
 * model's fields come from customer text, and the receipt must not echo arbitrary words back as ours.
 */
export function understoodFrom(kind: IntakeKind, f: IntakeFields): Understood {
  if (kind !== 'dispute') return { kind };
  return {
    kind,
    chargeId: f.chargeId && /^(ch|py)_[A-Za-z0-9]{1,64}$/.test(f.chargeId) ? f.chargeId : null,
    amount: f.amount !== null && Number.isFinite(f.amount) && f.amount > 0 ? f.amount : null,
    currency: f.currency && /^[A-Za-z]{3}$/.test(f.currency) ? f.currency.toUpperCase() : null,
    reason: f.reason,
  };
}

export function triageCheckpoint(
  mail: InboundEmail,
  result: IntakeResult,
  receipt: ThreadSend,
): CheckpointSpec<TriageValues> {
  const kind = kindOf(result);
  const found = Object.entries(result.fields)
    .filter(([, v]) => v !== null && v !== '')
    .map(([label, v]) => ({ label, value: clip(String(v)) }));
  return {
    title: `Email from ${mail.from.address}: ${kind === 'other' ? 'not a dispute' : 'unclear'}`,
    summary: `${clip(result.summary)}. Countersign opened no dispute. Approve with action "dispute" to treat it as one, or "close" to close it (the reply is sent unless empty). Reject closes it without a reply.`,
    evidence: [
      {
        title: 'Message',
        items: [
          { label: 'From', value: mail.from.name ? `${mail.from.name} <${mail.from.address}>` : mail.from.address },
          { label: 'Subject', value: clip(mail.subject) || '(none)' },
          { label: 'Understood as', value: kind },
          { label: 'Summary', value: clip(result.summary) },
          { label: 'Customer wrote', value: clip(mail.text) || '(no text)' },
          {
            label: 'Receipt',
            value: receipt.sent
              ? 'sent: says a person will read it'
              : `held back (${receipt.reason}): ${receipt.detail}`,
          },
        ],
      },
      ...(found.length > 0 ? [{ title: 'Found in the message', items: found }] : []),
    ],
    proposal: { outcome: 'close', rationale: clip(result.summary) },
    editable: triageEditable,
    values: { action: 'close', reply: kind === 'other' ? triageReplyText(mail.from.name) : '' },
  };
}
