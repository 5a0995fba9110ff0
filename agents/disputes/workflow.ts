import { z } from 'zod';
import type { Mailer } from '../../src/channels/mailer.js';
import { type CheckpointSpec, defineWorkflow } from '../../src/engine/workflow.js';
import type { createDisputeAgents } from './agents.js';
import { disputeEvidence, disputeSummary, disputeTitle } from './checkpoint-view.js';
import { type DisputeInput, disputeInputSchema } from './input.js';
import type { OutcomeLog } from './outcomes.js';
import { disputeAutonomyRule } from './policy.js';
import { replyEmail } from './reply.js';

export const CARD_DISPUTE = 'card-dispute';

/** What a person may change before the reply goes out (CONTRACT.md: `outcome` and `reply`). */
const reviewEditable = z.object({
  outcome: z.enum(['accept', 'reject'], 'Choose accept (refund the customer) or reject (the charge stands)').meta({
    title: 'Outcome',
    description: 'Accept refunds the customer; reject keeps the charge.',
  }),
  reply: z
    .string('Write the reply the customer will receive')
    .trim()
    .min(20, 'Write at least a short paragraph to the customer (20 characters or more)')
    .max(5_000, 'Keep the reply under 5,000 characters: it goes to the customer as one email')
    .meta({ title: 'Reply to the customer', description: 'Sent by email exactly as written here.' }),
});

export interface CardDisputeDeps {
  agents: ReturnType<typeof createDisputeAgents>;
  mailer: Mailer;
  outcomes: OutcomeLog;
  /** Reminders and what happens when nobody decides (from config.review). */
  review?: Pick<CheckpointSpec<Record<string, unknown>>, 'reminders' | 'timeout'>;
  /** A reject must say why (`workflows.card-dispute.requireRejectReason`; default off). */
  requireRejectReason?: boolean;
}

export interface CardDisputeOutput {
  outcome: 'accept' | 'reject' | 'escalated';
  decidedBy: string;
  channel: string;
  replySent: boolean;
  messageId: string | null;
  agreedWithAi: boolean | null;
}

/**
 * A card dispute: three specialists in parallel, the manager weighs them, a person countersigns unless the
 * autonomy policy lets the proposal stand, then the customer gets the reply and the outcome is recorded.
 */
export function createCardDisputeWorkflow(deps: CardDisputeDeps) {
  const { agents } = deps;
  // Every agent whose output shaped the manager's proposal; agreement is measured per agent too.
  const proposers = [agents.evidenceCollector, agents.accountRisk, agents.languageAnalyst, agents.disputeManager].map(
    (a) => a.name,
  );
  return defineWorkflow<DisputeInput, CardDisputeOutput>({
    name: CARD_DISPUTE,
    input: disputeInputSchema,
    async run(ctx, dispute) {
      const [evidence, risk, language] = await Promise.all([
        ctx.agent(agents.evidenceCollector, dispute),
        ctx.agent(agents.accountRisk, dispute),
        ctx.agent(agents.languageAnalyst, dispute),
      ]);
      const proposal = await ctx.agent(agents.disputeManager, { dispute, evidence, risk, language });
      // Mail our own server could not verify (no DMARC pass) never gets an autonomous refund: a person decides.
      const unverified = dispute.origin?.authentication && dispute.origin.authentication.verdict !== 'pass';
      // Journaled by the engine: the level in force (this workflow's setting capped by AUTONOMY) is read once.
      const verdict = await ctx.autonomy('autonomy', {
        facts: {
          outcome: proposal.outcome,
          confidence: proposal.confidence,
          amount: dispute.amount,
          riskScore: risk.riskScore,
        },
        rule: disputeAutonomyRule,
        ...(unverified ? { cap: 'manual' as const } : {}),
        checkpoint: 'review',
        // Confidence and amount with the outcome name the kind of case the autonomy boundary counts it under.
        agreement: {
          field: 'outcome',
          agents: proposers,
          proposed: proposal.outcome,
          confidence: proposal.confidence,
          amount: dispute.amount,
        },
      });

      let final: {
        outcome: 'accept' | 'reject';
        reply: string;
        decidedBy: string;
        channel: string;
        agreed: boolean | null;
      };
      if (verdict.auto && proposal.outcome !== 'review') {
        final = {
          outcome: proposal.outcome,
          reply: proposal.reply,
          decidedBy: 'policy',
          channel: 'policy',
          agreed: null,
        };
      } else {
        const review = await ctx.checkpoint('review', {
          title: disputeTitle(dispute),
          summary: disputeSummary(dispute, proposal, verdict),
          evidence: disputeEvidence(dispute, evidence, risk, language),
          proposal: { outcome: proposal.outcome, confidence: proposal.confidence, rationale: proposal.rationale },
          editable: reviewEditable,
          ...(deps.requireRejectReason ? { requireRejectReason: true } : {}),
          values: {
            outcome: proposal.outcome === 'review' ? proposal.leaning : proposal.outcome,
            reply: proposal.reply,
          },
          // A proposal of `review` prefills only the manager's leaning: nothing to agree or disagree with.
          agreement: {
            field: 'outcome',
            agents: proposers,
            proposed: proposal.outcome === 'review' ? null : proposal.outcome,
            confidence: proposal.confidence,
            amount: dispute.amount,
          },
          ...deps.review,
        });
        const agreed = proposal.outcome === 'review' ? null : review.values.outcome === proposal.outcome;
        if (review.decision === 'reject') {
          await ctx.step('record-outcome', () =>
            deps.outcomes.record({
              runId: ctx.runId,
              dispute,
              proposed: proposal.outcome,
              final: 'escalated',
              decidedBy: review.actor,
              channel: review.channel,
              edited: false,
              autonomy: verdict,
            }),
          );
          return {
            outcome: 'escalated',
            decidedBy: review.actor,
            channel: review.channel,
            replySent: false,
            messageId: null,
            agreedWithAi: false,
          };
        }
        final = { ...review.values, decidedBy: review.actor, channel: review.channel, agreed };
      }

      const sent = await ctx.step('send-reply', ({ idempotencyKey }) =>
        deps.mailer.send(replyEmail(dispute, final.reply), idempotencyKey, 'customer-reply'),
      );
      await ctx.step('record-outcome', () =>
        deps.outcomes.record({
          runId: ctx.runId,
          dispute,
          proposed: proposal.outcome,
          final: final.outcome,
          decidedBy: final.decidedBy,
          channel: final.channel,
          edited: final.reply !== proposal.reply,
          autonomy: verdict,
        }),
      );
      return {
        outcome: final.outcome,
        decidedBy: final.decidedBy,
        channel: final.channel,
        replySent: true,
        messageId: sent.messageId,
        agreedWithAi: final.agreed,
      };
    },
  });
}
