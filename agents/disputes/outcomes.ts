import { type Connection, type Model, Schema } from 'mongoose';
import type { DisputeInput } from './input.js';
import type { PolicyVerdict } from './policy.js';

export interface OutcomeRecord {
  runId: string;
  dispute: DisputeInput;
  proposed: 'accept' | 'reject' | 'review';
  final: 'accept' | 'reject' | 'escalated';
  decidedBy: string;
  channel: string;
  edited: boolean;
  autonomy: PolicyVerdict;
}

interface OutcomeDoc {
  _id: string;
  v: number;
  chargeId: string;
  customerEmail: string;
  amount: number;
  currency: string;
  proposed: string;
  final: string;
  decidedBy: string;
  channel: string;
  edited: boolean;
  autonomyLevel: string;
  wouldAutoDecide: boolean;
  recordedAt: Date;
}

export interface OutcomeLog {
  /** Idempotent per run: recording twice keeps one document. */
  record(outcome: OutcomeRecord): Promise<{ recorded: true }>;
  get(runId: string): Promise<OutcomeDoc | null>;
  /** Outcomes recorded in [from, to], and how many of them no person had to decide (the digest's section). */
  countBetween(from: Date, to: Date): Promise<{ total: number; byPolicy: number }>;
}

export function createOutcomeLog(connection: Connection): OutcomeLog {
  const model =
    (connection.models.DisputeOutcome as Model<OutcomeDoc> | undefined) ??
    connection.model<OutcomeDoc>(
      'DisputeOutcome',
      new Schema<OutcomeDoc>(
        {
          _id: String,
          v: Number,
          chargeId: String,
          customerEmail: String,
          amount: Number,
          currency: String,
          proposed: String,
          final: String,
          decidedBy: String,
          channel: String,
          edited: Boolean,
          autonomyLevel: String,
          wouldAutoDecide: Boolean,
          recordedAt: Date,
        },
        { collection: 'dispute_outcomes', versionKey: false },
      ),
    );
  return {
    async record(o) {
      const doc: OutcomeDoc = {
        _id: o.runId,
        v: 1,
        chargeId: o.dispute.chargeId,
        customerEmail: o.dispute.customerEmail,
        amount: o.dispute.amount,
        currency: o.dispute.currency,
        proposed: o.proposed,
        final: o.final,
        decidedBy: o.decidedBy,
        channel: o.channel,
        edited: o.edited,
        autonomyLevel: o.autonomy.level,
        wouldAutoDecide: o.autonomy.wouldAutoDecide,
        recordedAt: new Date(),
      };
      await model.replaceOne({ _id: o.runId }, doc, { upsert: true });
      return { recorded: true };
    },
    get: (runId) => model.findById(runId).lean<OutcomeDoc>().exec(),
    async countBetween(from, to) {
      const recordedAt = { $gte: from, $lte: to };
      const [total, byPolicy] = await Promise.all([
        model.countDocuments({ recordedAt }),
        model.countDocuments({ recordedAt, decidedBy: 'policy' }),
      ]);
      return { total, byPolicy };
    },
  };
}
