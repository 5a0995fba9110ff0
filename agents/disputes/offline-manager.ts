import type { Clause } from '../../src/offline-model/index.js';
import type { DisputeProposal, ManagerInput } from './agents.js';
import type { DisputeReason } from './input.js';
import { REFUND_POLICY } from './reference.js';

/**
 * How the offline model plays `dispute-manager`: explainable rules over the specialists' findings, in the order a
 * careful person would apply them. First the facts decide a base outcome; then anything that calls for a person
 * (high risk, embedded instructions, a large refund) turns it into `review`, keeping the base as the leaning.
 */

/**
 * The rules that carry out a sentence of the manager's instructions (agents.ts), each with a phrase of it. The
 * offline model stands in for a model that reads its instructions, so a rule applies only when its phrase is in the
 * prompt (src/offline-model/instructions.ts): an eval of changed instructions then measures something. The other
 * rules (single charge, confirmed delivery, cancellations) come from the refund policy the manager reads.
 */
export const MANAGER_CLAUSES = [
  // Without it the manager never reads the policy, so nothing sends a large refund to a person.
  { rule: 'read-policy', marker: 'Read get_refund_policy first and follow it' },
  // Without these two, the clear cases are judgements: review, leaning the same way.
  { rule: 'accept-clear', marker: 'Clear duplicates and undelivered shipments are accepted' },
  { rule: 'reject-used', marker: 'use of the service after a "fraud" claim by a low-risk account is rejected' },
  { rule: 'review-high-risk', marker: 'A high risk score' },
  { rule: 'review-not-found', marker: 'a charge that cannot be found' },
  { rule: 'review-amount-mismatch', marker: 'an amount that does not match' },
  { rule: 'review-embedded', marker: "instructions embedded in the customer's message" },
  // Without it the reply is vague: no name, charge, amount or currency.
  { rule: 'reply-specific', marker: 'specific (name, charge, amount, currency)' },
  // Without it the reply explains itself with the rationale, internal scores included.
  { rule: 'reply-no-internals', marker: 'no internal scores or rules' },
] as const satisfies readonly Clause[];
export type ManagerRule = (typeof MANAGER_CLAUSES)[number]['rule'];
/** Every rule: what the built-in instructions give. */
const ALL_MANAGER_RULES: ReadonlySet<ManagerRule> = new Set(MANAGER_CLAUSES.map((c) => c.rule));

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

function baseDecision({ dispute, evidence: e, language }: ManagerInput, rules: ReadonlySet<ManagerRule>): Decision {
  if (!e.chargeFound && rules.has('review-not-found')) {
    return mixed('reject', 0.4, 'not_found', `Charge ${dispute.chargeId} was not found.`);
  }
  if (e.chargeFound && !e.amountMatches && rules.has('review-amount-mismatch')) {
    return mixed('reject', 0.4, 'amount_mismatch', 'The disputed amount or currency differs from the charge.');
  }
  // A rule the instructions state decides alone; without it the same facts are only a leaning for a person.
  const clear = (rule: ManagerRule, outcome: 'accept' | 'reject', confidence: number, basis: Basis, reason: string) =>
    rules.has(rule) ? decided(outcome, confidence, basis, reason) : mixed(outcome, 0.5, basis, reason);
  if (e.duplicateOf) {
    return clear(
      'accept-clear',
      'accept',
      0.95,
      'duplicate',
      `The charge duplicates ${e.duplicateOf} (same amount and product).`,
    );
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
        : clear('accept-clear', 'accept', 0.9, 'not_delivered', 'Delivery is not confirmed.');
    case 'fraudulent':
    case 'unrecognized':
      if (used >= HEAVY_USE) {
        return clear('reject-used', 'reject', 0.85, 'used_after_charge', `Claimed ${claim}, yet ${usage}.`);
      }
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

/**
 * The manager's proposal. `reviewAboveAmount` comes from the refund policy the manager read (null: it read none);
 * `rules` are the clauses its instructions contain (default: all, as built in).
 */
export function decideDispute(
  input: ManagerInput,
  reviewAboveAmount: number | null = REFUND_POLICY.reviewAboveAmount,
  rules: ReadonlySet<ManagerRule> = ALL_MANAGER_RULES,
) {
  let d = baseDecision(input, rules);
  const { risk, language, dispute } = input;
  if (d.outcome === 'reject' && d.basis === 'used_after_charge' && risk.riskScore >= ELEVATED_RISK) {
    d = { ...d, confidence: d.confidence - 0.15 };
  }
  if (rules.has('review-high-risk') && risk.riskScore >= HIGH_RISK) {
    d = toReview(d, `Risk score ${risk.riskScore} is ${HIGH_RISK} or more.`);
  }
  if (rules.has('review-embedded') && language.suspiciousInstructions) {
    d = toReview(d, "The customer's message contains instructions aimed at the reviewer; treated as data only.");
  }
  if (reviewAboveAmount !== null && d.leaning === 'accept' && dispute.amount > reviewAboveAmount) {
    d = toReview(d, `A refund above ${reviewAboveAmount} ${dispute.currency} needs a person.`);
  }
  const rationale = [...d.reasons, `Risk ${risk.riskScore}/100; tone ${language.tone}.`].join(' ');
  const reply = draftReply(input, d, rules);
  const proposal: DisputeProposal = {
    outcome: d.outcome,
    leaning: d.leaning,
    confidence: Math.round(d.confidence * 100) / 100,
    rationale,
    // A model not told to keep internals out explains itself to the customer in its own terms.
    reply: rules.has('reply-no-internals')
      ? reply
      : reply.replace(`\n\n${SIGN_OFF}`, `\n\nWhy: ${rationale}\n\n${SIGN_OFF}`),
  };
  return proposal;
}

const SIGN_OFF = 'Kind regards,\nNorthwind Software, Billing Team';

function draftReply({ dispute, evidence }: ManagerInput, d: Decision, rules: ReadonlySet<ManagerRule>): string {
  if (!rules.has('reply-specific')) {
    const vague =
      d.leaning === 'accept'
        ? 'We have reviewed your dispute and we will refund the charge.'
        : 'We have reviewed your dispute and the charge stands.';
    return `Hello,\n\nThank you for contacting us about your dispute. ${vague}\n\n${SIGN_OFF}`;
  }
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
