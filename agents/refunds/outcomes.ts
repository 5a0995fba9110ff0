import { type Connection, type Model, Schema } from 'mongoose';

/** How a refund request ended. `failed`: approved, but the provider refused the refund (nothing was paid). */
export type RefundStatus = 'refunded' | 'credited' | 'denied' | 'rejected' | 'failed';

export interface RefundOutcome {
  runId: string;
  customerEmail: string;
  orderId: string | null;
  currency: string;
  requested: number;
  proposed: { decision: string; amount: number };
  /** What was decided and paid (0 unless refunded or credited). */
  final: { decision: string; amount: number };
  status: RefundStatus;
  refundId: string | null;
  decidedBy: string[];
  rejectedAt: string | null;
  reason: string | null;
}

interface OutcomeDoc extends Omit<RefundOutcome, 'runId'> {
  _id: string;
  v: number;
  recordedAt: Date;
}

export interface RefundTotals {
  requested: number;
  byStatus: Record<RefundStatus, number>;
  /** Decisions people (or the policy) took: approve / partial / deny among refunded, credited and denied runs. */
  byDecision: Record<'approve' | 'partial' | 'deny', number>;
  /** Money paid out per currency (refunds and credits). */
  paid: Record<string, number>;
}

export interface RefundOutcomeLog {
  /** Idempotent per run: recording twice keeps one document. */
  record(outcome: RefundOutcome, at: Date): Promise<{ recorded: true }>;
  get(runId: string): Promise<RefundOutcome | null>;
  totalsBetween(from: Date, to: Date): Promise<RefundTotals>;
}

export function createRefundOutcomeLog(connection: Connection): RefundOutcomeLog {
  const model =
    (connection.models.RefundOutcome as Model<OutcomeDoc> | undefined) ??
    connection.model<OutcomeDoc>(
      'RefundOutcome',
      new Schema<OutcomeDoc>(
        {
          _id: String,
          v: Number,
          customerEmail: String,
          orderId: String,
          currency: String,
          requested: Number,
          proposed: { decision: String, amount: Number },
          final: { decision: String, amount: Number },
          status: String,
          refundId: String,
          decidedBy: [String],
          rejectedAt: String,
          reason: String,
          recordedAt: Date,
        },
        { collection: 'refund_outcomes', versionKey: false, minimize: false },
      ),
    );
  return {
    async record(o, at) {
      const { runId, ...rest } = o;
      await model.replaceOne({ _id: runId }, { _id: runId, v: 1, ...rest, recordedAt: at }, { upsert: true });
      return { recorded: true };
    },
    async get(runId) {
      const doc = await model.findById(runId).lean<OutcomeDoc>();
      if (!doc) return null;
      const { _id, v: _v, recordedAt: _at, ...rest } = doc;
      return { runId: _id, ...rest };
    },
    async totalsBetween(from, to) {
      const docs = await model.find({ recordedAt: { $gte: from, $lt: to } }).lean<OutcomeDoc[]>();
      const totals: RefundTotals = {
        requested: docs.length,
        byStatus: { refunded: 0, credited: 0, denied: 0, rejected: 0, failed: 0 },
        byDecision: { approve: 0, partial: 0, deny: 0 },
        paid: {},
      };
      for (const d of docs) {
        totals.byStatus[d.status] += 1;
        const decision = d.final.decision;
        if (decision === 'approve' || decision === 'partial' || decision === 'deny') {
          if (d.status !== 'rejected' && d.status !== 'failed') totals.byDecision[decision] += 1;
        }
        if (d.status === 'refunded' || d.status === 'credited') {
          totals.paid[d.currency] = Math.round(((totals.paid[d.currency] ?? 0) + d.final.amount) * 100) / 100;
        }
      }
      return totals;
    },
  };
}
