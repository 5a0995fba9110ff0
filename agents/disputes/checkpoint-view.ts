import type { Agent } from '../../src/agents/define.js';
import type { CheckpointDoc } from '../../src/store/models.js';
import type { createDisputeAgents } from './agents.js';
import type { DisputeInput } from './input.js';
import { originEvidence } from './origin-view.js';
import type { PolicyVerdict } from './policy.js';
import { formatAmount } from './reply.js';

type Agents = ReturnType<typeof createDisputeAgents>;
type OutputOf<A> = A extends Agent<infer _I, infer O> ? O : never;
export type Evidence = OutputOf<Agents['evidenceCollector']>;
export type Risk = OutputOf<Agents['accountRisk']>;
export type Language = OutputOf<Agents['languageAnalyst']>;
export type Proposal = OutputOf<Agents['disputeManager']>;

const MAX_VALUE = 500;
const clip = (s: string) => (s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s);

export function disputeTitle(d: DisputeInput): string {
  return `${d.customerName ?? d.customerEmail} disputes ${formatAmount(d.amount, d.currency)} (${d.chargeId})`;
}

export function disputeSummary(d: DisputeInput, p: Proposal, verdict: PolicyVerdict): string {
  const lead =
    p.outcome === 'review' ? `The AI leans to ${p.leaning} but asks for a person` : `The AI proposes to ${p.outcome}`;
  return `${lead} (confidence ${Math.round(p.confidence * 100)}%). Reason given by the customer: ${d.reason.replaceAll('_', ' ')}. Autonomy: ${verdict.reason}.`;
}

/** The specialists' findings as sections every channel (page, email, Slack) renders the same way. */
export function disputeEvidence(d: DisputeInput, e: Evidence, r: Risk, l: Language): CheckpointDoc['evidence'] {
  return [
    {
      title: 'Dispute',
      items: [
        { label: 'Customer', value: d.customerName ? `${d.customerName} <${d.customerEmail}>` : d.customerEmail },
        { label: 'Charge', value: `${d.chargeId}, ${formatAmount(d.amount, d.currency)}` },
        { label: 'Reason', value: d.reason.replaceAll('_', ' ') },
        { label: 'Customer wrote', value: clip(d.description) },
      ],
    },
    {
      title: 'Evidence (evidence-collector)',
      items: [
        {
          label: 'Charge found',
          value: e.chargeFound ? (e.amountMatches ? 'yes, amount matches' : 'yes, amount differs') : 'no',
        },
        { label: 'Duplicate of', value: e.duplicateOf ?? 'none' },
        {
          label: 'Product use after the charge',
          value: `${e.usageEventsAfterCharge} events, last ${e.lastActiveAt ?? 'never'}`,
        },
        { label: 'Delivery confirmed', value: e.deliveryConfirmed ? 'yes' : 'no' },
        ...e.evidence.slice(0, 6).map((item, i) => ({ label: `Finding ${i + 1}`, value: clip(item) })),
        { label: 'Summary', value: clip(e.summary) },
      ],
    },
    {
      title: 'Account risk (account-risk)',
      items: [
        { label: 'Risk score', value: `${r.riskScore} / 100` },
        { label: 'Prior disputes', value: String(r.priorDisputes) },
        { label: 'Account age', value: `${r.accountAgeDays} days` },
        { label: 'Signals', value: clip(r.signals.join('; ') || 'none') },
      ],
    },
    {
      title: 'Language (language-analyst)',
      items: [
        { label: 'Tone', value: l.tone },
        { label: 'Intent', value: l.intent.replaceAll('_', ' ') },
        { label: 'Mentions a chargeback', value: l.mentionsChargeback ? 'yes' : 'no' },
        { label: 'Summary', value: clip(l.summary) },
      ],
    },
    ...originEvidence(d),
  ];
}
