import type { Connection } from 'mongoose';
import { sampleModel, upsertSampleDocs } from '../../src/store/sample-collections.js';
import { type Account, type Adjustment, type Order, sampleBusiness } from './sample-data.js';

export type { Account, Adjustment, Order } from './sample-data.js';

/** The read-only view of the business that refund tools get. Plain objects, never mongoose documents. */
export interface RefundData {
  account(email: string): Promise<Account | null>;
  order(id: string): Promise<Order | null>;
  /** Newest first. */
  ordersFor(email: string): Promise<Order[]>;
  /** Refunds and credits, newest first. */
  adjustmentsFor(email: string): Promise<Adjustment[]>;
}

// Collections of this module only (`refund_sample_*`): nothing here touches another module's data.
function models(conn: Connection) {
  return {
    accounts: sampleModel<Account>(conn, 'RefundSampleAccount', 'refund_sample_accounts', {
      name: String,
      customerSince: Date,
      lifetimeValue: Number,
      currency: String,
    }),
    orders: sampleModel<Order>(conn, 'RefundSampleOrder', 'refund_sample_orders', {
      customerEmail: String,
      chargeId: String,
      product: String,
      amount: Number,
      currency: String,
      orderedAt: Date,
      deliveredAt: Date,
    }),
    adjustments: sampleModel<Adjustment>(conn, 'RefundSampleAdjustment', 'refund_sample_adjustments', {
      customerEmail: String,
      kind: String,
      orderId: String,
      amount: Number,
      currency: String,
      at: Date,
      reason: String,
    }),
  };
}

/** Writes the sample business by `_id`; on the same day, running it again leaves the same documents. */
export async function seedRefundSampleData(connection: Connection, today: Date): Promise<void> {
  const m = models(connection);
  const business = sampleBusiness(today);
  await upsertSampleDocs(m.accounts, business.accounts);
  await upsertSampleDocs(m.orders, business.orders);
  await upsertSampleDocs(m.adjustments, business.adjustments);
}

const toAccount = (a: Account): Account => ({
  _id: a._id,
  name: a.name,
  customerSince: new Date(a.customerSince),
  lifetimeValue: a.lifetimeValue,
  currency: a.currency,
});

const toOrder = (o: Order): Order => ({
  _id: o._id,
  customerEmail: o.customerEmail,
  chargeId: o.chargeId,
  product: o.product,
  amount: o.amount,
  currency: o.currency,
  orderedAt: new Date(o.orderedAt),
  deliveredAt: o.deliveredAt ? new Date(o.deliveredAt) : null,
});

const toAdjustment = (a: Adjustment): Adjustment => ({
  _id: a._id,
  customerEmail: a.customerEmail,
  kind: a.kind,
  orderId: a.orderId ?? null,
  amount: a.amount,
  currency: a.currency,
  at: new Date(a.at),
  reason: a.reason,
});

export function createRefundData(connection: Connection): RefundData {
  const m = models(connection);
  const email = (e: string) => e.trim().toLowerCase();
  return {
    async account(e) {
      const doc = await m.accounts.findById(email(e)).lean<Account>();
      return doc ? toAccount(doc) : null;
    },
    async order(id) {
      const doc = await m.orders.findById(id.trim()).lean<Order>();
      return doc ? toOrder(doc) : null;
    },
    async ordersFor(e) {
      const docs = await m.orders
        .find({ customerEmail: email(e) })
        .sort({ orderedAt: -1 })
        .lean<Order[]>();
      return docs.map(toOrder);
    },
    async adjustmentsFor(e) {
      const docs = await m.adjustments
        .find({ customerEmail: email(e) })
        .sort({ at: -1 })
        .lean<Adjustment[]>();
      return docs.map(toAdjustment);
    },
  };
}
