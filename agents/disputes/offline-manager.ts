import type { DisputeProposal, ManagerInput } from './agents.js';
import type { DisputeReason } from './input.js';
import { REFUND_POLICY } from './reference.js';

/**
 * How the offline model plays `dispute-manager`: explainable rules over the specialists' findings, in the order a
 * careful person would apply them. First the facts decide a base outcome; then anything that calls for a person
 * (high risk, embedded instructions, a large refund) turns it into `review`, keeping the base as the leaning.
 */
type Basis =
  | 'duplicate'
  | 'single_charge'
  | 'not_delivered'
  | 'delivered'
  | 'unused'
  | 'used_after_charge'
  | 'judgement'
  | 'not_found'
  | 'amount_mismatch'
  | 'generic';

interface Decision {
  outcome: DisputeProposal['outcome'];
  leaning: DisputeProposal['leaning'];
  confidence: number;
  reasons: string[];
  basis: Basis;
}

const INTENT_TO_REASON: Record<ManagerInput['language']['intent'], DisputeReason> = {
  fraud_claim: 'fraudulent',
  billing_error: 'other',
  duplicate: 'duplicate',
  not_received: 'not_received',
  not_as_described: 'not_as_described',
  cancellation: 'subscription_canceled',
  unrecognized: 'unrecognized',
  other: 'other',
};

const HEAVY_USE = 3;
const HIGH_RISK = 70;
const ELEVATED_RISK = 40;

const decided = (outcome: 'accept' | 'reject', confidence: number, basis: Basis, reason: string): Decision => ({
  outcome,
  leaning: outcome,
  confidence,
  reasons: [reason],
  basis,
});
const mixed = (leaning: 'accept' | 'reject', confidence: number, basis: Basis, reason: string): Decision => ({
  outcome: 'review',
  leaning,
  confidence,
  reasons: [reason],
  basis,
});

function baseDecision({ dispute, evidence: e, language }: ManagerInput): Decision {
  if (!e.chargeFound) return mixed('reject', 0.4, 'not_found', `Charge ${dispute.chargeId} was not found.`);
  if (!e.amountMatches) {
    return mixed('reject', 0.4, 'amount_mismatch', 'The disputed amount or currency differs from the charge.');
  }
  if (e.duplicateOf) {
    return decided('accept', 0.95, 'duplicate', `The charge duplicates ${e.duplicateOf} (same amount and product).`);
  }
  // The customer's picked reason leads; their words decide only when they picked "other".
  const claim = dispute.reason === 'other' ? INTENT_TO_REASON[language.intent] : dispute.reason;
  const used = e.usageEventsAfterCharge;
  const usage = `${used} product use event(s) after the charge`;
  switch (claim) {
    case 'duplicate':
      return decided('reject', 0.75, 'single_charge', 'A duplicate was claimed but no matching second charge exists.');
    case 'not_received':
      return e.deliveryConfirmed
        ? decided('reject', 0.75, 'delivered', 'Delivery is confirmed.')
        : decided('accept', 0.9, 'not_delivered', 'Delivery is not confirmed.');
    case 'fraudulent':
    case 'unrecognized':
      if (used >= HEAVY_USE) return decided('reject', 0.85, 'used_after_charge', `Claimed ${claim}, yet ${usage}.`);
      if (used === 0) return decided('accept', 0.8, 'unused', `Claimed ${claim} and no product use after the charge.`);
      return mixed('reject', 0.5, 'generic', `Claimed ${claim} with light use: ${usage}.`);
    case 'subscription_canceled':
      if (used === 0)
        return decided('accept', 0.8, 'unused', 'Cancellation claimed and no product use after the charge.');
      if (used >= HEAVY_USE) return decided('reject', 0.7, 'used_after_charge', `Cancellation claimed, yet ${usage}.`);
      return mixed('accept', 0.5, 'generic', `Cancellation claimed with light use: ${usage}.`);
    case 'not_as_described':
      return mixed(
        used >= 10 ? 'reject' : 'accept',
        0.5,
        'judgement',
        `Whether the product matched its description is a judgement; ${usage}.`,
      );
    default:
      return mixed('reject', 0.5, 'generic', 'The claim fits no clear rule.');
  }
}

function toReview(d: Decision, reason: string): Decision {
  return { ...d, outcome: 'review', confidence: Math.min(d.confidence, 0.5), reasons: [...d.reasons, reason] };
}

export function decideDispute(input: ManagerInput, reviewAboveAmount: number = REFUND_POLICY.reviewAboveAmount) {
  let d = baseDecision(input);
  const { risk, language, dispute } = input;
  if (d.outcome === 'reject' && d.basis === 'used_after_charge' && risk.riskScore >= ELEVATED_RISK) {
    d = { ...d, confidence: d.confidence - 0.15 };
  }
  if (risk.riskScore >= HIGH_RISK) d = toReview(d, `Risk score ${risk.riskScore} is ${HIGH_RISK} or more.`);
  if (language.suspiciousInstructions) {
    d = toReview(d, "The customer's message contains instructions aimed at the reviewer; treated as data only.");
  }
  if (d.leaning === 'accept' && dispute.amount > reviewAboveAmount) {
    d = toReview(d, `A refund above ${reviewAboveAmount} ${dispute.currency} needs a person.`);
  }
  const proposal: DisputeProposal = {
    outcome: d.outcome,
    leaning: d.leaning,
    confidence: Math.round(d.confidence * 100) / 100,
    rationale: [...d.reasons, `Risk ${risk.riskScore}/100; tone ${language.tone}.`].join(' '),
    reply: draftReply(input, d),
  };
  return proposal;
}

const SIGN_OFF = 'Kind regards,\nNorthwind Software, Billing Team';

function draftReply({ dispute, evidence }: ManagerInput, d: Decision): string {
  const amount = `${dispute.amount.toFixed(2)} ${dispute.currency}`;
  const greeting = dispute.customerName ? `Dear ${dispute.customerName},` : 'Hello,';
  const seenAs = evidence.merchantDescriptor ? `, shown on your statement as "${evidence.merchantDescriptor}"` : '';
  const intro = `Thank you for contacting us about the charge of ${amount} (${dispute.chargeId}${seenAs}).`;
  const refund = `we are refunding ${amount} to the card you paid with. Depending on your bank, it can take a few business days to appear on your statement.`;
  const stands = 'If you have information we have not seen, please reply to this email and we will look at it again.';
  const lastUse = evidence.lastActiveAt ? `, most recently on ${evidence.lastActiveAt.slice(0, 10)}` : '';
  const bodies: Record<'accept' | 'reject', Partial<Record<Basis, string>> & { generic: string }> = {
    accept: {
      duplicate: `You are right: this charge duplicates charge ${evidence.duplicateOf}, made moments earlier for the same product, so ${refund}`,
      not_delivered: `We could not confirm that your order was delivered, so ${refund}`,
      judgement: `We are sorry the product did not meet what you expected; ${refund}`,
      generic: `We have reviewed your dispute and ${refund}`,
    },
    reject: {
      used_after_charge: `We looked into it carefully. After this charge, your Northwind account was used ${evidence.usageEventsAfterCharge} times${lastUse}. For that reason the charge stands and we cannot refund it. ${stands}`,
      single_charge: `We found a single charge of ${amount} for this product and no second charge for the same period, so the charge stands. ${stands}`,
      delivered: `The carrier confirmed delivery of your order, so the charge stands. If the parcel did not reach you, please reply and tell us what you see on the tracking page.`,
      not_found: `We could not find a charge with the id ${dispute.chargeId} in our records, so we cannot refund it as described. Could you reply with the date and the exact line from your card statement?`,
      amount_mismatch: `The charge ${dispute.chargeId} in our records does not match the amount in your message, so we cannot refund it as described. Could you reply with the exact line from your card statement?`,
      generic: `We have reviewed the charge and the history of your account, and the charge stands. ${stands}`,
    },
  };
  const set = bodies[d.leaning];
  const body = set[d.basis] ?? set.generic;
  return `${greeting}\n\n${intro} ${body}\n\n${SIGN_OFF}`;
}
