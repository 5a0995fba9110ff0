import type { AuditDoc, CheckpointDoc, Store } from './models.js';

type Entry = Omit<AuditDoc, 'checkpointId' | 'runId'>;

/** Appends to a checkpoint's audit without touching the checkpoint document (see the `audit` model). */
export async function appendAudit(store: Pick<Store, 'audit'>, cp: Pick<CheckpointDoc, '_id' | 'runId'>, entry: Entry) {
  await store.audit.create({ checkpointId: cp._id, runId: cp.runId, ...entry });
}

/** The audit of one checkpoint, oldest first: lines stored on the document by schema v1, then the collection's. */
export async function auditOf(store: Pick<Store, 'audit'>, cp: CheckpointDoc): Promise<CheckpointDoc['audit']> {
  const lines = await store.audit.find({ checkpointId: cp._id }).sort({ at: 1 }).lean<AuditDoc[]>();
  return [
    ...(cp.audit ?? []),
    ...lines.map((l) => ({
      at: l.at,
      actor: l.actor,
      channel: l.channel,
      outcome: l.outcome,
      ...(l.detail ? { detail: l.detail } : {}),
    })),
  ];
}
