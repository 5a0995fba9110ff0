import { z } from 'zod';
import { defineTool } from '../../src/agents/define.js';
import type { Adjustment, Order, RefundData } from './data.js';
import { REFUND_POLICY } from './policy.js';

/**
 * What the refund tools return, as JSON: the shapes an agent (and the offline rules that play it) reads.
 * Ages are given in whole days as well as dates, because models are poor at date arithmetic.
 */
const orderView = z.object({
  id: z.string(),
  customerEmail: z.string(),
  product: z.string(),
  amount: z.number(),
  currency: z.string(),
  orderedAt: z.string(),
  deliveredAt: z.string().nullable(),
  daysSinceDelivery: z.number().nullable(),
  refundedSoFar: z.number(),
});
export type OrderView = z.infer<typeof orderView>;

const adjustmentView = z.object({
  id: z.string(),
  kind: z.enum(['refund', 'credit']),
  orderId: z.string().nullable(),
  amount: z.number(),
  currency: z.string(),
  at: z.string(),
  daysAgo: z.number(),
  reason: z.string(),
});

export const toolResultSchemas = {
  get_account: z.object({
    found: z.boolean(),
    account: z
      .object({
        email: z.string(),
        name: z.string(),
        customerSince: z.string(),
        accountAgeDays: z.number(),
        lifetimeValue: z.number(),
        currency: z.string(),
      })
      .nullable(),
  }),
  list_orders: z.object({ orders: z.array(orderView) }),
  get_order: z.object({ found: z.boolean(), order: orderView.nullable() }),
  list_refunds_and_credits: z.object({ adjustments: z.array(adjustmentView) }),
} as const;

const DAY_MS = 86_400_000;
const days = (from: Date, to: Date) => Math.max(0, Math.floor((to.getTime() - from.getTime()) / DAY_MS));
const cents = (n: number) => Math.round(n * 100) / 100;

function viewOf(o: Order, adjustments: Adjustment[], now: Date): OrderView {
  const refunded = adjustments.filter((a) => a.kind === 'refund' && a.orderId === o._id);
  return {
    id: o._id,
    customerEmail: o.customerEmail,
    product: o.product,
    amount: o.amount,
    currency: o.currency,
    orderedAt: o.orderedAt.toISOString(),
    deliveredAt: o.deliveredAt?.toISOString() ?? null,
    daysSinceDelivery: o.deliveredAt ? days(o.deliveredAt, now) : null,
    refundedSoFar: cents(refunded.reduce((sum, a) => sum + a.amount, 0)),
  };
}

const email = z.string().describe('The customer email address');

/** The read-only tools of the refund agents. `now` is a port so ages are reproducible in tests. */
export function createRefundTools(data: RefundData, options: { now?: () => Date } = {}) {
  const now = options.now ?? (() => new Date());
  return {
    getAccount: defineTool({
      name: 'get_account',
      description: 'The customer account: name, customer since, account age and lifetime value (net of refunds).',
      input: z.object({ customerEmail: email }),
      run: async ({ customerEmail }) => {
        const a = await data.account(customerEmail);
        if (!a) return { found: false, account: null };
        return {
          found: true,
          account: {
            email: a._id,
            name: a.name,
            customerSince: a.customerSince.toISOString(),
            accountAgeDays: days(a.customerSince, now()),
            lifetimeValue: a.lifetimeValue,
            currency: a.currency,
          },
        };
      },
    }),
    listOrders: defineTool({
      name: 'list_orders',
      description: "A customer's orders, newest first, with delivery and how much of each was refunded already.",
      input: z.object({ customerEmail: email }),
      run: async ({ customerEmail }) => {
        const [orders, adjustments] = await Promise.all([
          data.ordersFor(customerEmail),
          data.adjustmentsFor(customerEmail),
        ]);
        return { orders: orders.map((o) => viewOf(o, adjustments, now())) };
      },
    }),
    getOrder: defineTool({
      name: 'get_order',
      description: 'One order by id: product, amount, currency, delivery, days since delivery, refunded so far.',
      input: z.object({ orderId: z.string().describe('The order id, e.g. ord_5101') }),
      run: async ({ orderId }) => {
        const order = await data.order(orderId);
        if (!order) return { found: false, order: null };
        return { found: true, order: viewOf(order, await data.adjustmentsFor(order.customerEmail), now()) };
      },
    }),
    listRefundsAndCredits: defineTool({
      name: 'list_refunds_and_credits',
      description: "The customer's earlier refunds and store credits, newest first, with how many days ago each was.",
      input: z.object({ customerEmail: email }),
      run: async ({ customerEmail }) => ({
        adjustments: (await data.adjustmentsFor(customerEmail)).map((a) => ({
          id: a._id,
          kind: a.kind,
          orderId: a.orderId,
          amount: a.amount,
          currency: a.currency,
          at: a.at.toISOString(),
          daysAgo: days(a.at, now()),
          reason: a.reason,
        })),
      }),
    }),
    getRefundPolicy: defineTool({
      name: 'get_refund_policy',
      description: "Larkspur's written refund policy: numbered rules, the same limits as numbers, and reply rules.",
      input: z.object({}),
      run: async () => REFUND_POLICY,
    }),
  };
}

export type RefundTools = ReturnType<typeof createRefundTools>;
