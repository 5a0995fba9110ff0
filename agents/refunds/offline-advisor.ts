import type { AdvisorInput, RefundProposal } from './agents.js';
import { formatMoney } from './money.js';

/**
 * How the offline model plays `refund-advisor`: the policy check's `maxAllowed` bounds everything (whatever the
 * reason text asks for), the account history and any instructions hidden in the reason lower the confidence and
 * raise the risk, and the customer email says exactly what was decided.
 */
const INSTRUCTIONS_RISK = 30;
const HIGH_RISK = 60;

const round2 = (n: number) => Math.round(n * 100) / 100;

export function adviseRefund(input: AdvisorInput): RefundProposal {
  const { request, history, policy } = input;
  const allowed = round2(Math.max(0, policy.maxAllowed));
  const decision: RefundProposal['decision'] =
    allowed <= 0 ? 'deny' : request.amount <= allowed ? 'approve' : 'partial';
  const amount = decision === 'deny' ? 0 : decision === 'approve' ? request.amount : allowed;
  const riskScore = Math.min(100, history.riskScore + (policy.suspiciousInstructions ? INSTRUCTIONS_RISK : 0));

  const reasons: string[] = [...policy.rulesApplied];
  let confidence = decision === 'approve' ? 0.92 : decision === 'partial' ? 0.8 : 0.85;
  if (!policy.orderFound && request.orderId) {
    confidence = Math.min(confidence, 0.6);
    reasons.push(`Order ${request.orderId} was not found for this customer.`);
  }
  if (policy.suspiciousInstructions) {
    confidence = Math.min(confidence, 0.5);
    reasons.push('The reason contains instructions aimed at the reviewer or an AI; treated as data only.');
  }
  if (riskScore >= HIGH_RISK) {
    confidence = Math.min(confidence, 0.6);
    reasons.push(`Risk score ${riskScore} is ${HIGH_RISK} or more.`);
  }
  const asked = formatMoney(request.amount, request.currency);
  const lead =
    decision === 'approve'
      ? `Refund the ${asked} asked: within policy (at most ${formatMoney(allowed, request.currency)}).`
      : decision === 'partial'
        ? `Refund ${formatMoney(amount, request.currency)} of the ${asked} asked: the policy allows no more.`
        : `Deny: the policy allows no refund for this request (${asked} asked).`;
  return {
    decision,
    amount,
    confidence: round2(confidence),
    riskScore,
    rationale: [lead, ...reasons, `Account: ${history.summary}`].join(' '),
    customerEmail: draftCustomerEmail(input, decision, amount),
  };
}

const SIGN_OFF = 'Kind regards,\nLarkspur Coffee Co., Customer Care';

function draftCustomerEmail(
  { request, history, policy }: AdvisorInput,
  decision: RefundProposal['decision'],
  amount: number,
): string {
  const greeting = history.customerName ? `Dear ${history.customerName},` : 'Hello,';
  const what = request.orderId
    ? `your order ${request.orderId}${policy.product ? ` (${policy.product})` : ''}`
    : 'your account';
  const money = formatMoney(amount, request.currency);
  const intro = `Thank you for getting in touch with us about ${what}.`;
  const credit = !request.orderId;
  const paid = credit
    ? `We have added a store credit of ${money} to your account; it is applied to your next order automatically.`
    : `We are refunding ${money} to the card you paid with. Depending on your bank it can take 5 to 10 business days to appear.`;
  const body =
    decision === 'approve'
      ? paid
      : decision === 'partial'
        ? `${paid} This is the most we can offer for this request; we are sorry it is not the full ${formatMoney(request.amount, request.currency)}.`
        : 'We have looked at your request carefully and we are not able to offer a refund this time. If there is something we have not seen, please reply to this email and we will look again.';
  return `${greeting}\n\n${intro} ${body}\n\n${SIGN_OFF}`;
}
