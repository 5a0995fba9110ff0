import type { OutboundMail } from '../../src/channels/mailer.js';
import type { DisputeInput } from './input.js';

export function formatAmount(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/** The customer's answer. Issue 4 threads it under the customer's own email; a webhook dispute starts a thread. */
export function replyEmail(dispute: DisputeInput, reply: string): OutboundMail {
  return {
    to: [dispute.customerEmail],
    subject: `Re: your dispute of ${formatAmount(dispute.amount, dispute.currency)} (charge ${dispute.chargeId})`,
    text: reply,
  };
}
