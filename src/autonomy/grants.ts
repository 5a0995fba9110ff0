import { randomUUID } from 'node:crypto';
import { type Model, Schema } from 'mongoose';
import type { CaseSlice } from '../evals/types.js';
import type { Autonomy } from '../settings-schema.js';
import { isDuplicateKey, type Store } from '../store/models.js';
import type { ActiveGrant } from './boundary.js';

/** What the evidence said when a person applied a grant, kept with it so the decision can be read later. */
export interface GrantEvidence {
  cases: number;
  agreed: number;
  rate: number | null;
  /** The Wilson lower bound at the bar's confidence level. */
  lower: number | null;
}

/**
 * A slice level a person applied (`countersign autonomy apply|set`, `POST /api/autonomy/grants`). Never deleted:
 * revoking records who and when, so the history of the boundary stays readable. `slice` fields may be `*`.
 */
export interface GrantDoc {
  _id: string;
  v: 1;
  workflow: string;
  slice: CaseSlice;
  level: Autonomy;
  appliedBy: string;
  appliedAt: Date;
  reason: string | null;
  /** The recommendation applied, when the grant came from one. */
  recommendation: string | null;
  evidence: GrantEvidence | null;
  revokedAt: Date | null;
  revokedBy: string | null;
}

/** The claim that makes a revocation happen once on both stores (a unique insert on the grant's id). */
interface RevocationDoc {
  _id: string;
  revokedBy: string;
  revokedAt: Date;
}

function models(store: Pick<Store, 'connection'>) {
  const conn = store.connection;
  const grants =
    (conn.models.AutonomyGrant as Model<GrantDoc> | undefined) ??
    conn.model<GrantDoc>(
      'AutonomyGrant',
      new Schema<GrantDoc>(
        {
          _id: String,
          v: Number,
          workflow: String,
          slice: { outcome: String, confidenceBand: String, amountBand: String },
          level: String,
          appliedBy: String,
          appliedAt: Date,
          reason: { type: String, default: null },
          recommendation: { type: String, default: null },
          evidence: { type: Schema.Types.Mixed, default: null },
          revokedAt: { type: Date, default: null },
          revokedBy: { type: String, default: null },
        },
        { collection: 'autonomy_grants', versionKey: false, minimize: false, strict: true },
      ),
    );
  const revocations =
    (conn.models.AutonomyRevocation as Model<RevocationDoc> | undefined) ??
    conn.model<RevocationDoc>(
      'AutonomyRevocation',
      new Schema<RevocationDoc>(
        { _id: String, revokedBy: String, revokedAt: Date },
        { collection: 'autonomy_revocations', versionKey: false, strict: true },
      ),
    );
  return { grants, revocations };
}

/** The grants in force for a workflow: one indexed read (autonomy_grants {workflow, appliedAt}). */
export async function activeGrants(store: Pick<Store, 'connection'>, workflow: string): Promise<ActiveGrant[]> {
  const docs = await activeGrantDocs(store, workflow);
  return docs.map((g) => ({
    id: g._id,
    pattern: g.slice,
    level: g.level,
    appliedBy: g.appliedBy,
    appliedAt: new Date(g.appliedAt),
  }));
}

/** The grants in force for a workflow, whole: all of them, however many were applied and revoked before. */
export async function activeGrantDocs(store: Pick<Store, 'connection'>, workflow: string): Promise<GrantDoc[]> {
  return models(store).grants.find({ workflow, revokedAt: null }).lean<GrantDoc[]>();
}

/** Every grant of a workflow, revoked ones included, newest first (the boundary's history). */
export async function grantsOf(store: Pick<Store, 'connection'>, workflow: string, limit = 500): Promise<GrantDoc[]> {
  return models(store).grants.find({ workflow }).sort({ appliedAt: -1 }).limit(limit).lean<GrantDoc[]>();
}

/** Records a grant; its id is new, so the insert is the whole write. */
export async function insertGrant(
  store: Pick<Store, 'connection'>,
  grant: Omit<GrantDoc, '_id' | 'v' | 'revokedAt' | 'revokedBy'>,
): Promise<GrantDoc> {
  const doc: GrantDoc = {
    _id: `grant-${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    v: 1,
    ...grant,
    revokedAt: null,
    revokedBy: null,
  };
  await models(store).grants.create(doc);
  return doc;
}

export type RevokeResult =
  | { ok: true; grant: GrantDoc }
  | { ok: false; reason: 'unknown-grant' }
  | { ok: false; reason: 'already-revoked'; grant: GrantDoc };

/**
 * Revokes a grant once: the revocation is a unique insert on the grant's id (exact on both stores, where a
 * conditional update is not on the embedded one), then the grant is marked. A second revocation finds the claim,
 * finishes a marking a crash left undone, and is told who revoked it.
 */
export async function revokeGrant(
  store: Pick<Store, 'connection'>,
  id: string,
  actor: string,
  now: Date,
): Promise<RevokeResult> {
  const { grants, revocations } = models(store);
  const grant = await grants.findById(id).lean<GrantDoc>();
  if (!grant) return { ok: false, reason: 'unknown-grant' };
  if (grant.revokedAt) return { ok: false, reason: 'already-revoked', grant };
  try {
    await revocations.create({ _id: id, revokedBy: actor, revokedAt: now });
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    const claim = await revocations.findById(id).lean<RevocationDoc>();
    const revokedAt = claim ? new Date(claim.revokedAt) : now;
    const revokedBy = claim?.revokedBy ?? 'unknown';
    await grants.updateOne({ _id: id }, { $set: { revokedAt, revokedBy } });
    return { ok: false, reason: 'already-revoked', grant: { ...grant, revokedAt, revokedBy } };
  }
  await grants.updateOne({ _id: id }, { $set: { revokedAt: now, revokedBy: actor } });
  return { ok: true, grant: { ...grant, revokedAt: now, revokedBy: actor } };
}
