import { z } from 'zod';
import { defineTool } from '../../src/agents/define.js';
import type { Charge, DisputeData } from './data.js';
import { DISPUTE_REASONS, normaliseReason } from './input.js';
import { REASON_CODES, REFUND_POLICY } from './reference.js';

/**
 * What the dispute tools return, as JSON: the shapes an agent (and the offline rules that play it) reads.
 * Dates are ISO strings because that is what survives the trip through a prompt.
 */
const chargeView = z.object({
  id: z.string(),
  customerEmail: z.string(),
  amount: z.number(),
  currency: z.string(),
  status: z.enum(['succeeded', 'refunded']),
  createdAt: z.string(),
  descriptor: z.string(),
  product: z.string(),
  card: z.object({ brand: z.string(), last4: z.string() }),
  fulfillment: z.object({
    kind: z.enum(['digital', 'shipment']),
    deliveredAt: z.string().nullable(),
    carrier: z.string().nullable(),
    tracking: z.string().nullable(),
  }),
});
export type ChargeView = z.infer<typeof chargeView>;

export const toolResultSchemas = {
  get_charge: z.object({ found: z.boolean(), charge: chargeView.nullable() }),
  list_customer_charges: z.object({ charges: z.array(chargeView) }),
  get_product_usage: z.object({
    since: z.string(),
    count: z.number(),
    lastActiveAt: z.string().nullable(),
    events: z.array(z.object({ at: z.string(), kind: z.string(), device: z.string(), ip: z.string() })),
  }),
  get_customer: z.object({
    found: z.boolean(),
    customer: z
      .object({
        email: z.string(),
        name: z.string(),
        country: z.string(),
        plan: z.string(),
        createdAt: z.string(),
        accountAgeDays: z.number(),
        emailVerified: z.boolean(),
        flags: z.array(z.string()),
      })
      .nullable(),
  }),
  get_dispute_history: z.object({
    disputes: z.array(
      z.object({ id: z.string(), chargeId: z.string(), reason: z.string(), openedAt: z.string(), outcome: z.string() }),
    ),
  }),
} as const;

const viewOf = (c: Charge): ChargeView => ({
  id: c._id,
  customerEmail: c.customerEmail,
  amount: c.amount,
  currency: c.currency,
  status: c.status,
  createdAt: c.createdAt.toISOString(),
  descriptor: c.descriptor,
  product: c.product,
  card: { ...c.card },
  fulfillment: { ...c.fulfillment, deliveredAt: c.fulfillment.deliveredAt?.toISOString() ?? null },
});

// Keeps prompts small for busy accounts; `count` still says how many there were.
const MAX_EVENTS = 50;
const DAY_MS = 86_400_000;

const email = z.string().describe('The customer email address');

/** The read-only tools of the dispute agents. `now` is a port so account ages are reproducible in tests. */
export function createDisputeTools(data: DisputeData, options: { now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());
  return {
    getCharge: defineTool({
      name: 'get_charge',
      description: 'Looks up one card charge by id: amount, currency, statement descriptor, product and fulfilment.',
      input: z.object({ chargeId: z.string().describe('The charge id, e.g. ch_1001') }),
      run: async ({ chargeId }) => {
        const charge = await data.charge(chargeId);
        return { found: charge !== null, charge: charge ? viewOf(charge) : null };
      },
    }),
    listCustomerCharges: defineTool({
      name: 'list_customer_charges',
      description: "Lists a customer's charges, newest first (to spot duplicates and earlier undisputed payments).",
      input: z.object({ customerEmail: email }),
      run: async ({ customerEmail }) => ({ charges: (await data.chargesFor(customerEmail)).map(viewOf) }),
    }),
    getProductUsage: defineTool({
      name: 'get_product_usage',
      description:
        'Product usage events (logins, exports, API calls) of a customer from a moment on, oldest first, with device and IP address.',
      input: z.object({
        customerEmail: email,
        since: z
          .string()
          .describe('ISO 8601 date-time, e.g. the time of the disputed charge')
          .refine((s) => !Number.isNaN(Date.parse(s)), 'must be an ISO 8601 date-time'),
      }),
      run: async ({ customerEmail, since }) => {
        const events = await data.usageSince(customerEmail, new Date(since));
        return {
          since: new Date(since).toISOString(),
          count: events.length,
          lastActiveAt: events.at(-1)?.at.toISOString() ?? null,
          events: events
            .slice(-MAX_EVENTS)
            .map((e) => ({ at: e.at.toISOString(), kind: e.kind, device: e.device, ip: e.ip })),
        };
      },
    }),
    getCustomer: defineTool({
      name: 'get_customer',
      description: 'The customer account: name, country, plan, account age, email verification and account flags.',
      input: z.object({ customerEmail: email }),
      run: async ({ customerEmail }) => {
        const c = await data.customer(customerEmail);
        if (!c) return { found: false, customer: null };
        const accountAgeDays = Math.max(0, Math.floor((now().getTime() - c.createdAt.getTime()) / DAY_MS));
        const { _id, createdAt, ...rest } = c;
        return { found: true, customer: { email: _id, ...rest, createdAt: createdAt.toISOString(), accountAgeDays } };
      },
    }),
    getDisputeHistory: defineTool({
      name: 'get_dispute_history',
      description: "The customer's earlier disputes with their outcomes (refunded, upheld, withdrawn), newest first.",
      input: z.object({ customerEmail: email }),
      run: async ({ customerEmail }) => ({
        disputes: (await data.disputeHistory(customerEmail)).map((p) => ({
          id: p._id,
          chargeId: p.chargeId,
          reason: p.reason,
          openedAt: p.openedAt.toISOString(),
          outcome: p.outcome,
        })),
      }),
    }),
    getReasonCode: defineTool({
      name: 'get_reason_code',
      description:
        'Card-network reason codes (Visa, Mastercard) for a dispute reason, and the evidence that would let the charge stand.',
      input: z.object({ reason: z.string().describe(`One of ${DISPUTE_REASONS.join(', ')}`) }),
      run: async ({ reason }) => REASON_CODES[normaliseReason(reason)],
    }),
    getRefundPolicy: defineTool({
      name: 'get_refund_policy',
      description: "Northwind's refund policy: rules, limits and how replies to customers must be written.",
      input: z.object({}),
      run: async () => REFUND_POLICY,
    }),
  };
}

export type DisputeTools = ReturnType<typeof createDisputeTools>;
