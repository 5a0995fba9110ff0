import type { CheckpointDoc } from '../../src/store/models.js';
import type { AccountHistory, PolicyFindings, RefundProposal } from './agents.js';
import type { RefundInput } from './input.js';
import { formatMoney } from './money.js';

const MAX_VALUE = 500;
const clip = (s: string) => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s);

export function refundTitle(r: RefundInput): string {
  return `Refund ${formatMoney(r.amount, r.currency)} to ${r.customerEmail}${r.orderId ? ` (${r.orderId})` : ' (credit)'}`;
}

export function refundSummary(r: RefundInput, p: RefundProposal, route: string, autonomy: string): string {
  const what =
    p.decision === 'deny'
      ? 'deny the refund'
      : p.decision === 'partial'
        ? `refund ${formatMoney(p.amount, r.currency)} of the ${formatMoney(r.amount, r.currency)} asked`
        : `refund the ${formatMoney(p.amount, r.currency)} asked`;
  return `The AI proposes to ${what} (confidence ${Math.round(p.confidence * 100)}%, risk ${p.riskScore}/100). Asked by ${r.requestedBy}. Approval route: ${route}. Autonomy: ${autonomy}.`;
}

/** The agents' findings as sections every channel (page, email, Slack) renders the same way. */
export function refundEvidence(r: RefundInput, h: AccountHistory, p: PolicyFindings): CheckpointDoc['evidence'] {
  return [
    {
      title: 'Request',
      items: [
        { label: 'Customer', value: h.customerName ? `${h.customerName} <${r.customerEmail}>` : r.customerEmail },
        { label: 'Amount asked', value: formatMoney(r.amount, r.currency) },
        { label: 'Order', value: r.orderId ? `${r.orderId}${p.product ? `, ${p.product}` : ''}` : 'none (credit)' },
        { label: 'Reason given', value: clip(r.reason) },
        { label: 'Requested by', value: r.requestedBy },
      ],
    },
    {
      title: 'Account history (account-history)',
      items: [
        { label: 'Account', value: h.accountFound ? `${h.accountAgeDays} days old` : 'not found' },
        { label: 'Lifetime value', value: String(h.lifetimeValue) },
        { label: 'Orders', value: String(h.ordersCount) },
        {
          label: 'Refunds and credits, last 365 days',
          value: `${h.refundsLast365Days} refund(s), ${h.creditsLast365Days} credit(s), ${h.adjustedTotalLast365Days} in total`,
        },
        { label: 'Risk score', value: `${h.riskScore} / 100` },
        { label: 'Signals', value: clip(h.signals.join('; ') || 'none') },
      ],
    },
    {
      title: 'Written policy (policy-check)',
      items: [
        { label: 'Policy allows at most', value: formatMoney(p.maxAllowed, r.currency) },
        { label: 'Within policy', value: p.withinPolicy ? 'yes' : 'no' },
        { label: 'Days since delivery', value: p.daysSinceDelivery === null ? 'n/a' : String(p.daysSinceDelivery) },
        { label: 'Reason reads as', value: p.reasonCategory.replaceAll('_', ' ') },
        {
          label: 'Instructions in the reason',
          value: p.suspiciousInstructions ? 'yes: treated as data, not obeyed' : 'none',
        },
        ...p.rulesApplied.slice(0, 6).map((rule, i) => ({ label: `Rule ${i + 1}`, value: clip(rule) })),
      ],
    },
  ];
}
