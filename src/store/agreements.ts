import { type Model, Schema } from 'mongoose';
import { isDuplicateKey, type Store } from './models.js';

/** Who settled a decision point: a person (any channel), the autonomy policy, or a checkpoint's timeout. */
export type DecidedBy = 'person' | 'policy' | 'timeout';

/**
 * One decided decision point of any workflow, compared with what the AI proposed. Written exactly once: `_id` is the
 * checkpoint's id (for a policy verdict, the id the checkpoint it replaced would have had), inserted uniquely, never
 * updated, so both stores agree on it and a replay that writes it again changes nothing.
 */
export interface AgreementDoc {
  _id: string;
  v: number;
  runId: string;
  workflow: string;
  /** The checkpoint's name (step id). */
  checkpoint: string;
  /** The agents whose outputs formed the proposal. */
  agents: string[];
  /** The editable field compared; null when the whole proposal is compared. */
  field: string | null;
  /** The AI's proposal: the field's value, or every editable value when `field` is null; null when it proposed nothing. */
  proposed: unknown;
  /** What was decided: the field's (or all) values after edits when approved, null when rejected. */
  final: unknown;
  decision: 'approve' | 'reject';
  /** Editable fields a person changed. */
  editedFields: string[];
  /** Kept the AI's proposal; null when there was nothing to compare (the AI asked a person). */
  agreed: boolean | null;
  decidedBy: DecidedBy;
  /** Who decided: an email, a Slack user id, `policy` or `timeout`. */
  actor: string;
  channel: string;
  decidedAt: Date;
  recordedAt: Date;
  /** The proposal's confidence (0..1) when the workflow states one: the autonomy boundary slices by it. */
  confidence?: number | null;
  /** The case's amount in major units when the workflow has one: the autonomy boundary slices by it. */
  amount?: number | null;
  /** Agent name → version (src/agents/version.ts) of the agents that formed the proposal, from the run's journal. */
  versions?: Record<string, string>;
}

export function agreementModel(store: Pick<Store, 'connection'>): Model<AgreementDoc> {
  const conn = store.connection;
  return (
    (conn.models.Agreement as Model<AgreementDoc> | undefined) ??
    conn.model<AgreementDoc>(
      'Agreement',
      new Schema<AgreementDoc>(
        {
          _id: String,
          v: Number,
          runId: String,
          workflow: String,
          checkpoint: String,
          agents: [String],
          field: { type: String, default: null },
          proposed: Schema.Types.Mixed,
          final: Schema.Types.Mixed,
          decision: String,
          editedFields: [String],
          agreed: { type: Boolean, default: null },
          decidedBy: String,
          actor: String,
          channel: String,
          decidedAt: Date,
          recordedAt: Date,
          confidence: { type: Number, default: null },
          amount: { type: Number, default: null },
          versions: { type: Schema.Types.Mixed, default: {} },
        },
        { collection: 'agreements', versionKey: false, minimize: false, strict: true },
      ),
    )
  );
}

/** Inserts the record unless it exists; true when this call wrote it. A unique insert is exact on both stores. */
export async function recordAgreement(store: Pick<Store, 'connection'>, doc: AgreementDoc): Promise<boolean> {
  try {
    await agreementModel(store).create(doc);
    return true;
  } catch (err) {
    if (isDuplicateKey(err)) return false;
    throw err;
  }
}
