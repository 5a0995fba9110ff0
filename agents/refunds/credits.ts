import { type Connection, type Model, Schema } from 'mongoose';

/**
 * Store credit: a request without an order is a goodwill credit on the customer's next order, not money back to a
 * card. The ledger is this module's own collection; one credit per run, so a retried step grants nothing twice.
 */
export interface CreditLedger {
  grant(credit: { runId: string; customerEmail: string; amount: number; currency: string }): Promise<{ id: string }>;
  forCustomer(email: string): Promise<{ id: string; amount: number; currency: string; grantedAt: Date }[]>;
}

interface CreditDoc {
  _id: string;
  v: number;
  runId: string;
  customerEmail: string;
  amount: number;
  currency: string;
  grantedAt: Date;
}

export function createCreditLedger(connection: Connection, now: () => Date): CreditLedger {
  const model =
    (connection.models.RefundCredit as Model<CreditDoc> | undefined) ??
    connection.model<CreditDoc>(
      'RefundCredit',
      new Schema<CreditDoc>(
        {
          _id: String,
          v: Number,
          runId: String,
          customerEmail: String,
          amount: Number,
          currency: String,
          grantedAt: Date,
        },
        { collection: 'refund_credits', versionKey: false },
      ),
    );
  return {
    async grant(c) {
      const _id = `cr_${c.runId}`;
      // $setOnInsert: a second grant for the same run keeps the first one's amount and time.
      await model.updateOne(
        { _id },
        {
          $setOnInsert: {
            v: 1,
            runId: c.runId,
            customerEmail: c.customerEmail,
            amount: c.amount,
            currency: c.currency,
            grantedAt: now(),
          },
        },
        { upsert: true },
      );
      return { id: _id };
    },
    async forCustomer(email) {
      const docs = await model.find({ customerEmail: email.toLowerCase() }).sort({ grantedAt: -1 }).lean<CreditDoc[]>();
      return docs.map((d) => ({ id: d._id, amount: d.amount, currency: d.currency, grantedAt: new Date(d.grantedAt) }));
    },
  };
}
