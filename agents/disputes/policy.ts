import type { Autonomy } from '../../src/config.js';
import type { AutonomyRule } from '../../src/engine/workflow.js';

const ORDER: readonly Autonomy[] = ['manual', 'shadow', 'assisted', 'autonomous'];

/** What the autonomy policy says about one proposal. Recorded with the outcome, so agreement can be measured. */
export interface PolicyVerdict {
  /** The level in force: the workflow's own, capped by the deployment-wide AUTONOMY ceiling. */
  level: Autonomy;
  /** The proposal stands without a person. */
  auto: boolean;
  /** What the policy would allow at `assisted` or above; in `shadow` it is recorded, never acted on. */
  wouldAutoDecide: boolean;
  /** One sentence for people: why it stands or why it waits. */
  reason: string;
}

export interface ProposalFacts {
  outcome: 'accept' | 'reject' | 'review';
  confidence: number;
  amount: number;
  riskScore: number;
}

// Hard limits per level: clear-cut and small within `assisted`, wider within `autonomous`.
const LIMITS = {
  assisted: { minConfidence: 0.9, maxAmount: 250, maxRisk: 40 },
  autonomous: { minConfidence: 0.8, maxAmount: 1_000, maxRisk: 60 },
} as const;

export function applyPolicy(workflowLevel: Autonomy, ceiling: Autonomy, facts: ProposalFacts): PolicyVerdict {
  const level = ORDER[Math.min(ORDER.indexOf(workflowLevel), ORDER.indexOf(ceiling))] ?? 'manual';
  const limits = level === 'autonomous' ? LIMITS.autonomous : LIMITS.assisted;
  const blocker =
    facts.outcome === 'review'
      ? 'the AI asks for a person'
      : facts.confidence < limits.minConfidence
        ? `confidence ${Math.round(facts.confidence * 100)}% is below ${Math.round(limits.minConfidence * 100)}%`
        : facts.amount > limits.maxAmount
          ? `the amount is above ${limits.maxAmount}`
          : facts.riskScore > limits.maxRisk
            ? `risk score ${facts.riskScore} is above ${limits.maxRisk}`
            : null;
  const wouldAutoDecide = blocker === null;
  if (level === 'manual') return { level, auto: false, wouldAutoDecide, reason: 'manual: a person decides every case' };
  if (level === 'shadow') {
    const would = wouldAutoDecide ? 'would have decided alone' : `would ask too (${blocker})`;
    return { level, auto: false, wouldAutoDecide, reason: `shadow: a person decides; the AI ${would}` };
  }
  return wouldAutoDecide
    ? { level, auto: true, wouldAutoDecide, reason: `${level}: clear-cut and within limits, the proposal stands` }
    : { level, auto: false, wouldAutoDecide, reason: `${level}: a person decides because ${blocker}` };
}

/**
 * The dispute limits as the engine's autonomy rule: the engine has already capped the level (workflow setting,
 * AUTONOMY, unverified mail) and journals the verdict, so the rule only applies the limits of that level.
 */
export const disputeAutonomyRule: AutonomyRule<ProposalFacts> = (facts, level) => applyPolicy(level, level, facts);
