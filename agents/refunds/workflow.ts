import { z } from 'zod';
import type { Mailer } from '../../src/channels/mailer.js';
import type { Autonomy } from '../../src/config.js';
import { stageStepIds } from '../../src/engine/approval.js';
import {
  type AutonomyRuling,
  type CheckpointSpec,
  defineWorkflow,
  type ResolvedStage,
} from '../../src/engine/workflow.js';
import { NonRetryable } from '../../src/errors.js';
import type { RefundAgents, RefundProposal } from './agents.js';
import type { BillingPort } from './billing/port.js';
import { refundEvidence, refundSummary, refundTitle } from './checkpoint-view.js';
import type { CreditLedger } from './credits.js';
import type { RefundData } from './data.js';
import { type RefundInput, refundInputSchema } from './input.js';
import { formatMoney, toMinorUnits } from './money.js';
import type { RequesterNotifier } from './notify.js';
import type { RefundOutcome, RefundOutcomeLog } from './outcomes.js';
import { customerMail, requesterNote } from './reply.js';

export const REFUND_REQUEST = 'refund-request';
/** The approval's step id: `approve` for one stage, `approve-<stage>` for each of several. */
const APPROVAL = 'approve';

/** What the approvers may change (CONTRACT.md: `decision`, `amount`, `reply`). Built per run: see `amount`. */
function editableFor(request: RefundInput) {
  return z.object({
    decision: z
      .enum(['approve', 'partial', 'deny'], 'Choose approve, partial or deny')
      .meta({ title: 'Decision', description: 'Approve the amount asked, part of it, or deny the refund.' }),
    // At most what was asked: the approval route was chosen by that amount, so raising it would skip a stage.
    amount: z
      .number('Give the amount to refund as a number')
      .min(0, 'The amount cannot be negative')
      .max(request.amount, `At most the ${formatMoney(request.amount, request.currency)} that was asked for`)
      .meta({ title: `Amount (${request.currency})`, description: 'What the customer gets back; 0 when denied.' }),
    reply: z
      .string('Write the email the customer will receive')
      .trim()
      .min(20, 'Write at least a short paragraph to the customer (20 characters or more)')
      .max(5_000, 'Keep the email under 5,000 characters')
      .meta({ title: 'Email to the customer', description: 'Sent exactly as written once the refund is issued.' }),
  });
}
type Editable = z.infer<ReturnType<typeof editableFor>>;

export interface RefundAutonomyFacts {
  decision: RefundProposal['decision'];
  amount: number;
  confidence: number;
  riskScore: number;
  suspiciousInstructions: boolean;
  /** Approval stages the policy asks for: the autonomy rule never skips a second stage (finance). */
  stages: number;
}

// Money only leaves without a person when it is small, clear-cut, within policy and a single-stage case.
const LIMITS = {
  assisted: { maxAmount: 50, minConfidence: 0.9, maxRisk: 30 },
  autonomous: { maxAmount: 100, minConfidence: 0.85, maxRisk: 40 },
} as const;

export function refundAutonomyRule(f: RefundAutonomyFacts, level: Autonomy): AutonomyRuling {
  const limits = level === 'autonomous' ? LIMITS.autonomous : LIMITS.assisted;
  const blocker =
    f.decision !== 'approve'
      ? `the AI proposes ${f.decision === 'deny' ? 'to deny it' : 'a partial refund'}; only clear approvals may stand alone`
      : f.suspiciousInstructions
        ? 'the reason contains instructions aimed at the reviewer'
        : f.stages > 1
          ? 'the approval policy asks for more than one stage'
          : f.amount > limits.maxAmount
            ? `the amount is above ${limits.maxAmount}`
            : f.confidence < limits.minConfidence
              ? `confidence ${Math.round(f.confidence * 100)}% is below ${Math.round(limits.minConfidence * 100)}%`
              : f.riskScore > limits.maxRisk
                ? `risk score ${f.riskScore} is above ${limits.maxRisk}`
                : null;
  if (blocker) return { auto: false, wouldAutoDecide: false, reason: `a person decides because ${blocker}` };
  return { auto: true, wouldAutoDecide: true, reason: 'small, clear-cut and within policy: the proposal stands' };
}

export interface RefundRequestDeps {
  agents: RefundAgents;
  data: RefundData;
  billing: BillingPort;
  credits: CreditLedger;
  mailer: Mailer;
  notifier: RequesterNotifier;
  outcomes: RefundOutcomeLog;
  /** The approval stages that apply to this request (resolved from the configuration by amount and risk). */
  stagesFor(facts: { amount: number; risk: number }): ResolvedStage[];
  requireRejectReason: boolean;
  /** Reminders and what happens when nobody decides (from the configuration). */
  review?: Pick<CheckpointSpec<Record<string, unknown>>, 'reminders' | 'timeout'>;
}

export interface RefundRequestOutput {
  status: RefundOutcome['status'];
  decision: RefundProposal['decision'] | null;
  amount: number;
  currency: string;
  refundId: string | null;
  decidedBy: string[];
  customerEmailed: boolean;
  requesterTold: 'slack' | 'email' | 'none';
  rejectedAt: string | null;
}

/** approve/partial/deny as the amount says: a person who set 0 denied; less than asked is partial. */
function settle(values: Editable, asked: number): { decision: RefundProposal['decision']; amount: number } {
  const amount = Math.round(values.amount * 100) / 100;
  if (values.decision === 'deny' || amount <= 0) return { decision: 'deny', amount: 0 };
  return { decision: amount < asked ? 'partial' : 'approve', amount };
}

/**
 * A refund outside the standard policy: account history and policy check in parallel, the advisor proposes, the
 * approval policy from the configuration routes it through its stages, then the refund is issued exactly once, the
 * customer is emailed and the support agent who asked is told.
 */
export function createRefundRequestWorkflow(deps: RefundRequestDeps) {
  const { agents } = deps;
  return defineWorkflow<RefundInput, RefundRequestOutput>({
    name: REFUND_REQUEST,
    input: refundInputSchema,
    async run(ctx, request) {
      const [history, policy] = await Promise.all([
        ctx.agent(agents.accountHistory, request),
        ctx.agent(agents.policyCheck, request),
      ]);
      const proposal = await ctx.agent(agents.refundAdvisor, { request, history, policy });
      // Journaled: a run waiting at its first stage keeps its route when the configuration changes meanwhile.
      const stages = await ctx.step(
        'approval-route',
        async () => {
          try {
            return deps.stagesFor({ amount: request.amount, risk: proposal.riskScore });
          } catch (err) {
            throw new NonRetryable(
              `the approval policy for ${REFUND_REQUEST} cannot be applied: ${(err as Error).message}`,
            );
          }
        },
        { pure: true },
      );
      const proposed: Editable = {
        decision: proposal.decision,
        amount: Math.min(proposal.amount, request.amount),
        reply: proposal.customerEmail,
      };
      // Confidence and the amount asked name the kind of case the autonomy boundary counts the decision under.
      const agreement = {
        field: 'decision',
        agents: [agents.refundAdvisor.name],
        confidence: proposal.confidence,
        amount: request.amount,
      };
      const verdict = await ctx.autonomy('autonomy-policy', {
        facts: {
          decision: proposal.decision,
          amount: proposal.amount,
          confidence: proposal.confidence,
          riskScore: proposal.riskScore,
          suspiciousInstructions: policy.suspiciousInstructions,
          stages: stages.length,
        } satisfies RefundAutonomyFacts,
        rule: refundAutonomyRule,
        // The first approval stage is the decision point a standing proposal replaces.
        checkpoint: stageStepIds(APPROVAL, stages)[0] ?? APPROVAL,
        agreement: { ...agreement, proposed: proposal.decision },
      });

      const route = stages.length === 0 ? 'default approvers' : stages.map((s) => s.name).join(', then ');
      let values: Editable = proposed;
      let decidedBy: string[] = ['policy'];
      if (!verdict.auto) {
        const approval = await ctx.approval(APPROVAL, {
          title: refundTitle(request),
          summary: refundSummary(request, proposal, route, `${verdict.level}: ${verdict.reason}`),
          evidence: refundEvidence(request, history, policy),
          proposal: { outcome: proposal.decision, confidence: proposal.confidence, rationale: proposal.rationale },
          editable: editableFor(request),
          values: proposed,
          stages,
          requireRejectReason: deps.requireRejectReason,
          agreement,
          ...deps.review,
        });
        decidedBy = approval.stages.map((s) => (s.onBehalfOf ? `${s.actor} for ${s.onBehalfOf}` : s.actor));
        if (approval.decision === 'reject') {
          const rejecter = approval.stages.at(-1);
          const stage = approval.rejectedAt ?? 'approval';
          const told = await ctx.step('notify-requester', ({ idempotencyKey }) =>
            deps.notifier.notify(
              request.requestedBy,
              requesterNote(request, ctx.runId, {
                kind: 'rejected',
                stage,
                by: rejecter?.actor ?? 'an approver',
                reason: rejecter?.comment,
              }),
              idempotencyKey,
            ),
          );
          await record(ctx, deps, request, proposal, {
            final: { decision: approval.values.decision, amount: 0 },
            status: 'rejected',
            refundId: null,
            decidedBy,
            rejectedAt: stage,
            reason: rejecter?.comment ?? null,
          });
          return {
            status: 'rejected',
            decision: null,
            amount: 0,
            currency: request.currency,
            refundId: null,
            decidedBy,
            customerEmailed: false,
            requesterTold: told.channel,
            rejectedAt: stage,
          };
        }
        values = approval.values;
      }

      const final = settle(values, request.amount);
      let refundId: string | null = null;
      if (final.amount > 0) {
        const issued = await ctx.step(
          'issue-refund',
          async ({ idempotencyKey }) => {
            if (!request.orderId) {
              const credit = await deps.credits.grant({
                runId: ctx.runId,
                customerEmail: request.customerEmail,
                amount: final.amount,
                currency: request.currency,
              });
              return { ok: true as const, id: credit.id };
            }
            const order = await deps.data.order(request.orderId);
            if (!order || order.customerEmail !== request.customerEmail) {
              return { ok: false as const, error: `order ${request.orderId} is not one of this customer's orders` };
            }
            try {
              const refund = await deps.billing.refund({
                chargeId: order.chargeId,
                amountMinor: toMinorUnits(final.amount, order.currency),
                currency: order.currency,
                idempotencyKey,
                metadata: { countersign_run: ctx.runId, requested_by: request.requestedBy },
              });
              return { ok: true as const, id: refund.id };
            } catch (err) {
              // The provider's final word (already refunded, more than is left) is an outcome, not a crash.
              if (err instanceof NonRetryable) return { ok: false as const, error: err.message };
              throw err;
            }
          },
          { attempts: 6, backoffMs: 1_000 },
        );
        if (!issued.ok) {
          const told = await ctx.step('notify-requester', ({ idempotencyKey }) =>
            deps.notifier.notify(
              request.requestedBy,
              requesterNote(request, ctx.runId, { kind: 'failed', error: issued.error }),
              idempotencyKey,
            ),
          );
          await record(ctx, deps, request, proposal, {
            final,
            status: 'failed',
            refundId: null,
            decidedBy,
            rejectedAt: null,
            reason: issued.error,
          });
          return {
            status: 'failed',
            decision: final.decision,
            amount: 0,
            currency: request.currency,
            refundId: null,
            decidedBy,
            customerEmailed: false,
            requesterTold: told.channel,
            rejectedAt: null,
          };
        }
        refundId = issued.id;
      }

      await ctx.step('email-customer', ({ idempotencyKey }) =>
        deps.mailer.send(customerMail(request, values.reply), idempotencyKey, 'refund-customer'),
      );
      const told = await ctx.step('notify-requester', ({ idempotencyKey }) =>
        deps.notifier.notify(
          request.requestedBy,
          requesterNote(
            request,
            ctx.runId,
            final.decision === 'deny' || refundId === null
              ? { kind: 'denied' }
              : {
                  kind: 'paid',
                  decision: final.decision,
                  amount: final.amount,
                  refundId,
                  credit: !request.orderId,
                },
          ),
          idempotencyKey,
        ),
      );
      const status = final.decision === 'deny' ? 'denied' : request.orderId ? 'refunded' : 'credited';
      await record(ctx, deps, request, proposal, {
        final,
        status,
        refundId,
        decidedBy,
        rejectedAt: null,
        reason: null,
      });
      return {
        status,
        decision: final.decision,
        amount: final.amount,
        currency: request.currency,
        refundId,
        decidedBy,
        customerEmailed: true,
        requesterTold: told.channel,
        rejectedAt: null,
      };
    },
  });
}

async function record(
  ctx: { runId: string; now(id?: string): Promise<Date>; step<T>(id: string, fn: () => Promise<T>): Promise<T> },
  deps: RefundRequestDeps,
  request: RefundInput,
  proposal: RefundProposal,
  end: Pick<RefundOutcome, 'final' | 'status' | 'refundId' | 'decidedBy' | 'rejectedAt' | 'reason'>,
) {
  const at = await ctx.now('recorded-at');
  await ctx.step('record-outcome', () =>
    deps.outcomes.record(
      {
        runId: ctx.runId,
        customerEmail: request.customerEmail,
        orderId: request.orderId ?? null,
        currency: request.currency,
        requested: request.amount,
        proposed: { decision: proposal.decision, amount: proposal.amount },
        ...end,
      },
      at,
    ),
  );
}
