import type { Connection } from 'mongoose';
import { sampleModel, upsertSampleDocs } from '../../src/store/sample-collections.js';
import {
  type Charge,
  type Customer,
  type PriorDispute,
  SAMPLE_CHARGES,
  SAMPLE_CUSTOMERS,
  SAMPLE_DISPUTES_HISTORY,
  SAMPLE_USAGE,
  type UsageEvent,
} from './sample-data.js';

export type { Charge, Customer, PriorDispute, UsageEvent } from './sample-data.js';

/** The read-only view of the business that dispute tools get. Plain objects, never mongoose documents. */
export interface DisputeData {
  charge(id: string): Promise<Charge | null>;
  /** Newest first. */
  chargesFor(email: string): Promise<Charge[]>;
  customer(email: string): Promise<Customer | null>;
  /** Oldest first, from `since` inclusive. */
  usageSince(email: string, since: Date): Promise<UsageEvent[]>;
  /** Newest first. */
  disputeHistory(email: string): Promise<PriorDispute[]>;
}

function models(conn: Connection) {
  return {
    customers: sampleModel<Customer>(conn, 'SampleCustomer', 'sample_customers', {
      name: String,
      country: String,
      plan: String,
      createdAt: Date,
      emailVerified: Boolean,
      flags: [String],
    }),
    charges: sampleModel<Charge>(conn, 'SampleCharge', 'sample_charges', {
      customerEmail: String,
      amount: Number,
      currency: String,
      status: String,
      createdAt: Date,
      descriptor: String,
      product: String,
      card: { brand: String, last4: String },
      fulfillment: { kind: String, deliveredAt: Date, carrier: String, tracking: String },
    }),
    usage: sampleModel<UsageEvent>(conn, 'SampleUsage', 'sample_usage', {
      customerEmail: String,
      at: Date,
      kind: String,
      device: String,
      ip: String,
    }),
    disputes: sampleModel<PriorDispute>(conn, 'SampleDispute', 'sample_disputes', {
      customerEmail: String,
      chargeId: String,
      reason: String,
      openedAt: Date,
      outcome: String,
    }),
  };
}

/** Writes the sample business by `_id`; running it again leaves the same documents (demo start, every test). */
export async function seedSampleData(connection: Connection): Promise<void> {
  const m = models(connection);
  await upsertSampleDocs(m.customers, SAMPLE_CUSTOMERS);
  await upsertSampleDocs(m.charges, SAMPLE_CHARGES);
  await upsertSampleDocs(m.usage, SAMPLE_USAGE);
  await upsertSampleDocs(m.disputes, SAMPLE_DISPUTES_HISTORY);
}

const toCustomer = (c: Customer): Customer => ({
  _id: c._id,
  name: c.name,
  country: c.country,
  plan: c.plan,
  createdAt: new Date(c.createdAt),
  emailVerified: c.emailVerified,
  flags: [...c.flags],
});

const toCharge = (c: Charge): Charge => ({
  _id: c._id,
  customerEmail: c.customerEmail,
  amount: c.amount,
  currency: c.currency,
  status: c.status,
  createdAt: new Date(c.createdAt),
  descriptor: c.descriptor,
  product: c.product,
  card: { brand: c.card.brand, last4: c.card.last4 },
  fulfillment: {
    kind: c.fulfillment.kind,
    deliveredAt: c.fulfillment.deliveredAt ? new Date(c.fulfillment.deliveredAt) : null,
    carrier: c.fulfillment.carrier ?? null,
    tracking: c.fulfillment.tracking ?? null,
  },
});

const toUsage = (u: UsageEvent): UsageEvent => ({
  _id: u._id,
  customerEmail: u.customerEmail,
  at: new Date(u.at),
  kind: u.kind,
  device: u.device,
  ip: u.ip,
});

const toDispute = (p: PriorDispute): PriorDispute => ({
  _id: p._id,
  customerEmail: p.customerEmail,
  chargeId: p.chargeId,
  reason: p.reason,
  openedAt: new Date(p.openedAt),
  outcome: p.outcome,
});

export function createDisputeData(connection: Connection): DisputeData {
  const m = models(connection);
  const email = (e: string) => e.trim().toLowerCase();
  return {
    async charge(id) {
      const doc = await m.charges.findById(id.trim()).lean<Charge>();
      return doc ? toCharge(doc) : null;
    },
    async chargesFor(e) {
      const docs = await m.charges
        .find({ customerEmail: email(e) })
        .sort({ createdAt: -1 })
        .lean<Charge[]>();
      return docs.map(toCharge);
    },
    async customer(e) {
      const doc = await m.customers.findById(email(e)).lean<Customer>();
      return doc ? toCustomer(doc) : null;
    },
    async usageSince(e, since) {
      const docs = await m.usage
        .find({ customerEmail: email(e), at: { $gte: since } })
        .sort({ at: 1 })
        .lean<UsageEvent[]>();
      return docs.map(toUsage);
    },
    async disputeHistory(e) {
      const docs = await m.disputes
        .find({ customerEmail: email(e) })
        .sort({ openedAt: -1 })
        .lean<PriorDispute[]>();
      return docs.map(toDispute);
    },
  };
}
