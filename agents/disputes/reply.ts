import { replyHeaders } from '../../src/channels/email/threading.js';
import type { OutboundMail } from '../../src/channels/mailer.js';
import type { DisputeInput } from './input.js';

export function formatAmount(amount: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en-US', { style: 'currency', currency }).format(amount);
  } catch {
    return `${amount.toFixed(2)} ${currency}`;
  }
}

/**
 * The customer's answer. A dispute that came by email is answered in its thread (In-Reply-To, References,
 * `Re:` subject) so the customer's client shows one conversation; a webhook dispute starts a new one.
 */
export function replyEmail(dispute: DisputeInput, reply: string): OutboundMail {
  if (dispute.thread) {
    return { to: [dispute.thread.to ?? dispute.customerEmail], text: reply, ...replyHeaders(dispute.thread) };
  }
  return {
    to: [dispute.customerEmail],
    subject: `Re: your dispute of ${formatAmount(dispute.amount, dispute.currency)} (charge ${dispute.chargeId})`,
    text: reply,
  };
}
