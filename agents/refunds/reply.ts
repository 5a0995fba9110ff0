import type { OutboundMail } from '../../src/channels/mailer.js';
import type { RefundInput } from './input.js';
import { formatMoney } from './money.js';

/** The customer's answer, exactly as the last approver left it. */
export function customerMail(r: RefundInput, text: string): OutboundMail {
  const about = r.orderId ? `your order ${r.orderId}` : 'your request';
  return { to: [r.customerEmail], subject: `About ${about} with Larkspur Coffee Co.`, text };
}

export type RequesterNote =
  | { kind: 'paid'; decision: 'approve' | 'partial'; amount: number; refundId: string; credit: boolean }
  | { kind: 'denied' }
  | { kind: 'rejected'; stage: string; by: string; reason: string | undefined }
  | { kind: 'failed'; error: string };

/** What the support agent who asked is told, in Slack or by email. */
export function requesterNote(r: RefundInput, runId: string, note: RequesterNote): { subject: string; text: string } {
  const asked = `${formatMoney(r.amount, r.currency)} for ${r.customerEmail}${r.orderId ? ` (${r.orderId})` : ''}`;
  switch (note.kind) {
    case 'paid': {
      const paid = formatMoney(note.amount, r.currency);
      const how = note.credit ? `a store credit of ${paid}` : `a refund of ${paid} (${note.refundId})`;
      return {
        subject: `Refund ${note.decision === 'approve' ? 'approved' : 'partly approved'}: ${asked}`,
        text: `Your refund request (${asked}) was approved: ${how} was issued and the customer was emailed. Run ${runId}.`,
      };
    }
    case 'denied':
      return {
        subject: `Refund denied: ${asked}`,
        text: `The approvers agreed to deny your refund request (${asked}); the customer was emailed the answer. Run ${runId}.`,
      };
    case 'rejected':
      return {
        subject: `Refund request rejected: ${asked}`,
        text: `Your refund request (${asked}) was rejected at the ${note.stage} stage by ${note.by}. Reason: ${note.reason ?? 'none given'}. Nothing was refunded and the customer was not emailed. Run ${runId}.`,
      };
    case 'failed':
      return {
        subject: `Refund could not be issued: ${asked}`,
        text: `Your refund request (${asked}) was approved, but the payment provider refused it: ${note.error}. Nothing was refunded and the customer was not emailed. Run ${runId}.`,
      };
  }
}
