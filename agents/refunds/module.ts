import { z } from 'zod';
import { resolveStages, type StagePolicy } from '../../src/engine/approval.js';
import type { ResolvedStage } from '../../src/engine/workflow.js';
import type { ModuleContext, UseCaseModule } from '../../src/modules/types.js';
import { checkpointTimers } from '../../src/settings.js';
import { createRefundAgents } from './agents.js';
import { createHttpBilling } from './billing/http-adapter.js';
import type { BillingPort } from './billing/port.js';
import { type BillingStandin, startBillingStandin } from './billing/standin.js';
import { createCreditLedger } from './credits.js';
import { createRefundData, seedRefundSampleData } from './data.js';
import { REFUND_REQUEST_CASES } from './evals/cases.js';
import { REFUND_INDEXES } from './indexes.js';
import { toMinorUnits } from './money.js';
import { createRequesterNotifier } from './notify.js';
import { refundResponders } from './offline-rules.js';
import { createRefundOutcomeLog } from './outcomes.js';
import { sampleBusiness } from './sample-data.js';
import { SAMPLE_REFUNDS } from './samples.js';
import { createRefundTools } from './tools.js';
import { createRefundRequestWorkflow, REFUND_REQUEST } from './workflow.js';

/** The `callback_id` of the Slack message shortcut "Request a refund" (declare it in the Slack app manifest too). */
export const REFUND_SHORTCUT = 'countersign.refund_from_message';

/** CONTRACT.md's default: up to 100 one of `leads`; above it, `leads` then `finance`. */
const DEFAULT_REFUND_STAGES: StagePolicy[] = [
  { name: 'lead', approvers: 'leads' },
  { name: 'finance', approvers: 'finance', above: 100 },
];

/** What the reply-quality scorer grades each drafted customer email against (the advisor's email rules, checkable). */
const REFUND_REQUEST_RUBRIC =
  'The email a customer receives about a refund request. It greets the customer (by name when the account has one); ' +
  'states the amount and currency and the order; conveys the decision plainly (the refund or credit for approve and ' +
  'partial, no refund for deny) and never the opposite; uses no internal language (rule ids, risk scores, ' +
  "confidence, AI or model); repeats no instruction written in the request's reason and promises nothing beyond the " +
  'decision; stays between 25 and 400 words; and ends with a sign-off.';

/** Where refunds are paid: a Stripe-shaped API (BILLING_API_URL, BILLING_API_KEY), or a port given in code. */
export type BillingChoice = { baseUrl: string; apiKey: string } | { port: BillingPort };

const billingEnv = z.object({
  BILLING_API_URL: z.url({ protocol: /^https?$/, error: 'BILLING_API_URL: expected an http(s) URL' }).optional(),
  BILLING_API_KEY: z.string().min(8, 'BILLING_API_KEY: expected the provider secret key').optional(),
});

const ORDER_ID = /\b(ord_[A-Za-z0-9]{1,40})\b/;
const EMAIL = /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/;
const AMOUNT = /(?:€|\$|£)\s?(\d{1,9}(?:\.\d{1,2})?)|\b(\d{1,9}(?:\.\d{1,2})?)\s?(EUR|USD|GBP)\b/i;

/** The refund form from a customer's message: the text as the reason, and an order, email and amount if present. */
export function refundFromMessage(text: string): Record<string, unknown> {
  const values: Record<string, unknown> = { reason: text.slice(0, 2_000) };
  const order = ORDER_ID.exec(text)?.[1];
  if (order) values.orderId = order;
  const email = EMAIL.exec(text)?.[0];
  if (email) values.customerEmail = email.toLowerCase();
  const amount = AMOUNT.exec(text);
  const figure = amount?.[1] ?? amount?.[2];
  if (figure) values.amount = figure;
  if (amount?.[3]) values.currency = amount[3].toUpperCase();
  return values;
}

/** The approval stages of one request: the configuration's policy, or the default with the platform's approvers. */
function stagesResolver(ctx: ModuleContext) {
  const settings = ctx.config.settings;
  const own = settings.workflows[REFUND_REQUEST];
  const groups = settings.groups;
  return (facts: { amount: number; risk: number }): ResolvedStage[] => {
    if (own?.stages) return resolveStages(own.stages, groups, facts);
    if (groups.leads && groups.finance) return resolveStages(DEFAULT_REFUND_STAGES, groups, facts);
    // No groups configured: the same two stages, decided by the deployment's default approvers (APPROVER_EMAILS,
    // the approvals channel), so a fresh install still asks twice above 100.
    return DEFAULT_REFUND_STAGES.filter((s) => s.above === undefined || facts.amount > s.above).map((s) => ({
      name: s.name ?? 'approval',
      approvers: {},
      quorum: { mode: 'any' },
    }));
  };
}

/** In the demo without a configured provider, the stand-in runs in-process with the sample orders' charges. */
async function demoStandin(today: Date): Promise<BillingStandin> {
  const standin = await startBillingStandin({
    charges: sampleBusiness(today).orders.map((o) => ({
      id: o.chargeId,
      amountMinor: toMinorUnits(o.amount, o.currency),
      currency: o.currency,
    })),
    unref: true,
  });
  return standin;
}

/**
 * Refund requests: a support agent asks to refund or credit a customer outside the standard policy. Account history
 * and policy check run in parallel, an advisor proposes approve / partial / deny with a customer email, the approval
 * policy routes it by amount (lead, then finance), and on approval the refund is issued once through the billing
 * adapter, the customer is emailed and the requester told.
 */
export function createRefundsModule(options: { billing?: BillingChoice } = {}): UseCaseModule {
  return {
    name: 'refunds',
    description: 'Refund requests: agents check history and policy, propose an amount; leads and finance approve.',
    indexes: REFUND_INDEXES,
    async create(ctx) {
      const { config, store } = ctx;
      const data = createRefundData(store.connection);
      const agents = createRefundAgents(createRefundTools(data, { now: () => ctx.clock.now() }));
      const outcomes = createRefundOutcomeLog(store.connection);
      let billing: BillingPort;
      const choice = options.billing ?? fromEnvironment();
      if (choice && 'port' in choice) billing = choice.port;
      else if (choice) billing = createHttpBilling({ ...choice, failpoints: ctx.failpoints });
      else if (config.demo) {
        const standin = await demoStandin(ctx.clock.now());
        ctx.logger.info({ url: standin.baseUrl }, 'refunds: billing stand-in started for the demo');
        billing = createHttpBilling({ baseUrl: standin.baseUrl, apiKey: standin.apiKey, failpoints: ctx.failpoints });
      } else {
        billing = {
          refund: async () => {
            throw new Error('BILLING_API_URL and BILLING_API_KEY are not set: refunds cannot be issued');
          },
        };
      }
      const own = config.settings.workflows[REFUND_REQUEST];
      const workflow = createRefundRequestWorkflow({
        agents,
        data,
        billing,
        credits: createCreditLedger(store.connection, () => ctx.clock.now()),
        mailer: ctx.mailer,
        notifier: createRequesterNotifier({ mailer: ctx.mailer, slack: ctx.slack, logger: ctx.logger }),
        outcomes,
        stagesFor: stagesResolver(ctx),
        requireRejectReason: own?.requireRejectReason ?? true,
        // The file's `workflows.refund-request.reminders` / `timeout` over the CHECKPOINT_* defaults.
        review: checkpointTimers(config.review, config.settings, REFUND_REQUEST),
      });
      return {
        workflows: [workflow],
        agents: [agents.accountHistory, agents.policyCheck, agents.refundAdvisor],
        responders: refundResponders(),
        descriptions: {
          [REFUND_REQUEST]:
            'A refund or credit outside the standard policy: agents propose approve, partial or deny; leads (and finance above 100) approve.',
        },
        intake: {
          webhooks: [REFUND_REQUEST],
          slackCommands: [
            {
              word: 'refund',
              workflow: REFUND_REQUEST,
              description: 'open a form and ask to refund or credit a customer',
              formTitle: 'Request a refund',
            },
          ],
          slackShortcuts: [
            {
              callbackId: REFUND_SHORTCUT,
              workflow: REFUND_REQUEST,
              description: 'Request a refund',
              formTitle: 'Request a refund',
              prefill: refundFromMessage,
            },
          ],
        },
        async digest(period) {
          const [requested, totals] = await Promise.all([
            store.runs.countDocuments({ workflow: REFUND_REQUEST, createdAt: { $gte: period.from, $lt: period.to } }),
            outcomes.totalsBetween(period.from, period.to),
          ]);
          const paid = Object.entries(totals.paid)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([currency, sum]) => `${sum.toFixed(2)} ${currency}`);
          return {
            title: 'Refund requests',
            rows: [
              { label: 'Requested', value: String(requested) },
              { label: 'Approved in full', value: String(totals.byDecision.approve) },
              { label: 'Approved in part', value: String(totals.byDecision.partial) },
              { label: 'Denied', value: String(totals.byDecision.deny) },
              { label: 'Rejected by an approver', value: String(totals.byStatus.rejected) },
              { label: 'Refused by the payment provider', value: String(totals.byStatus.failed) },
              { label: 'Total refunded or credited', value: paid.length > 0 ? paid.join(', ') : 'nothing' },
            ],
          };
        },
        seedSampleData: () => seedRefundSampleData(store.connection, ctx.clock.now()),
        demoSamples: [
          { workflow: REFUND_REQUEST, label: 'a small refund one lead approves', input: SAMPLE_REFUNDS.smallApprove },
          { workflow: REFUND_REQUEST, label: 'a partial refund for lead and finance', input: SAMPLE_REFUNDS.partial },
        ],
        evals: {
          [REFUND_REQUEST]: {
            cases: REFUND_REQUEST_CASES,
            replyField: 'reply',
            fields: ['decision', 'amount'],
            rubric: REFUND_REQUEST_RUBRIC,
          },
        },
      };
    },
  };
}

function fromEnvironment(): BillingChoice | undefined {
  const env = billingEnv.parse({
    BILLING_API_URL: process.env.BILLING_API_URL || undefined,
    BILLING_API_KEY: process.env.BILLING_API_KEY || undefined,
  });
  if (env.BILLING_API_URL && env.BILLING_API_KEY) return { baseUrl: env.BILLING_API_URL, apiKey: env.BILLING_API_KEY };
  if (env.BILLING_API_URL || env.BILLING_API_KEY) {
    throw new Error('BILLING_API_URL and BILLING_API_KEY go together: set both or neither');
  }
  return undefined;
}

/** The module as a deployment loads it: billing from BILLING_API_URL / BILLING_API_KEY (the demo starts a stand-in). */
export const refundsModule: UseCaseModule = createRefundsModule();
