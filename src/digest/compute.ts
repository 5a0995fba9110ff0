import { z } from 'zod';
import type { Engine } from '../engine/types.js';
import type { DigestSection } from '../modules/types.js';
import type { CheckpointDoc, Store } from '../store/models.js';
import { type VersionChange, versionChanges } from './version-changes.js';

/**
 * What a manager's digest says, computed from the checkpoints, the engine's agreement records (every workflow) and
 * the model-call journal.
 * Aggregates are computed here in JavaScript: FerretDB 1.x lacks most `$group` accumulators, and a digest reads at
 * most a few thousand documents.
 */
export interface DigestData {
  from: Date;
  to: Date;
  pending: { id: string; title: string; workflow: string; ageMs: number; overdue: boolean; link: string }[];
  slaBreaches: number;
  decisions: { approved: number; edited: number; rejected: number; timedOut: number };
  /** Decision points settled in the period (by a person, the policy or a timeout), and how many no person decided. */
  resolved: { total: number; withoutPerson: number };
  /** Human decisions on a clear AI proposal and how many kept it. */
  agreement: { compared: number; agreed: number };
  /** The same two numbers for each workflow that had decisions in the period, by name. */
  byWorkflow: {
    workflow: string;
    resolved: { total: number; withoutPerson: number };
    agreement: { compared: number; agreed: number };
  }[];
  usage: { calls: number; inputTokens: number; outputTokens: number; costUsd: number };
  /** Inbound mail in the period that started nothing: quarantined for a person to look at, or automatic mail. */
  mail: { quarantined: number; ignored: number; reasons: { reason: string; count: number }[] };
  /**
   * Per workflow, the latest change of an agent's version (prompt, schemas, tools or model) when it happened in the
   * period, with agreement before and after it.
   */
  versionChanges: VersionChange[];
  /** The modules' own sections, in module order. */
  sections: DigestSection[];
}

export interface DigestDeps {
  engine: Pick<Engine, 'listCheckpoints' | 'agreementStats'>;
  store: Pick<Store, 'modelCalls' | 'connection'>;
  /** A link that opens the checkpoint for this recipient (signed, bound to them). */
  linkFor(checkpoint: CheckpointDoc, recipient: string): string;
  /** How long a checkpoint may wait before it counts as an SLA breach (unless it has its own timeout). */
  slaMs?: number;
  /** Each module's own section for the period (what it resolved, what it paid out…). */
  sections?(period: { from: Date; to: Date }): Promise<DigestSection[]>;
}

export function isEmpty(d: DigestData): boolean {
  const decided = d.decisions.approved + d.decisions.edited + d.decisions.rejected + d.decisions.timedOut;
  return (
    d.pending.length === 0 && decided === 0 && d.resolved.total === 0 && d.usage.calls === 0 && d.mail.quarantined === 0
  );
}

export async function computeDigest(deps: DigestDeps, recipient: string, from: Date, to: Date): Promise<DigestData> {
  const slaMs = deps.slaMs ?? 24 * 3_600_000;
  const pendingDocs = await deps.engine.listCheckpoints({ status: 'pending', limit: 500 });
  const pending = pendingDocs
    .map((cp) => {
      const ageMs = to.getTime() - new Date(cp.createdAt).getTime();
      const timeoutAt = cp.timers?.timeoutAt ? new Date(cp.timers.timeoutAt).getTime() : null;
      const overdue = timeoutAt !== null ? timeoutAt <= to.getTime() : ageMs > slaMs;
      return { id: cp._id, title: cp.title, workflow: cp.workflow, ageMs, overdue, link: deps.linkFor(cp, recipient) };
    })
    .sort((a, b) => b.ageMs - a.ageMs);

  const decidedDocs = await deps.engine.listCheckpoints({ decidedSince: from, limit: 1_000 });
  const decisions = { approved: 0, edited: 0, rejected: 0, timedOut: 0 };
  for (const cp of decidedDocs) {
    const d = cp.decision;
    if (!d || new Date(d.decidedAt) > to) continue;
    if (d.channel === 'timeout') decisions.timedOut++;
    else if (d.decision === 'reject') decisions.rejected++;
    else if (d.diff.length > 0) decisions.edited++;
    else decisions.approved++;
  }

  const stats = await deps.engine.agreementStats({ since: from, until: to });
  const byWorkflow = stats.workflows.map((w) => ({
    workflow: w.workflow,
    resolved: { total: w.decided, withoutPerson: w.byPolicy },
    agreement: { compared: w.compared, agreed: w.agreed },
  }));
  const sum = (pick: (w: DigestData['byWorkflow'][number]) => number) => byWorkflow.reduce((n, w) => n + pick(w), 0);

  const calls = await deps.store.modelCalls
    .find({ at: { $gte: from, $lte: to } }, { inputTokens: 1, outputTokens: 1, costUsd: 1 })
    .limit(100_000)
    .lean();
  const usage = { calls: calls.length, inputTokens: 0, outputTokens: 0, costUsd: 0 };
  for (const c of calls) {
    usage.inputTokens += c.inputTokens ?? 0;
    usage.outputTokens += c.outputTokens ?? 0;
    usage.costUsd += c.costUsd ?? 0;
  }

  const mail = await unhandledMail(deps.store.connection, from, to);

  return {
    from,
    to,
    pending,
    slaBreaches: pending.filter((p) => p.overdue).length,
    decisions,
    resolved: { total: sum((w) => w.resolved.total), withoutPerson: sum((w) => w.resolved.withoutPerson) },
    agreement: { compared: sum((w) => w.agreement.compared), agreed: sum((w) => w.agreement.agreed) },
    byWorkflow,
    usage,
    mail,
    versionChanges: await versionChanges(deps.store, from, to),
    sections: (await deps.sections?.({ from, to })) ?? [],
  };
}

const unhandledMailSchema = z.object({ status: z.enum(['quarantined', 'ignored']), reason: z.string().default('') });

/** Counts by the rule that stopped them (`sender-rate`, `auto-reply`…), without the per-message detail after ':'. */
async function unhandledMail(
  conn: DigestDeps['store']['connection'],
  from: Date,
  to: Date,
): Promise<DigestData['mail']> {
  const docs = await conn
    .collection('email_messages')
    .find(
      { status: { $in: ['quarantined', 'ignored'] }, updatedAt: { $gte: from, $lte: to } },
      { projection: { status: 1, reason: 1 } },
    )
    .limit(10_000)
    .toArray();
  const out: DigestData['mail'] = { quarantined: 0, ignored: 0, reasons: [] };
  const byReason = new Map<string, number>();
  for (const d of docs) {
    const m = unhandledMailSchema.safeParse(d);
    if (!m.success) continue;
    out[m.data.status]++;
    if (m.data.status !== 'quarantined') continue;
    const rule = m.data.reason.split(':')[0]?.trim() || 'unknown';
    byReason.set(rule, (byReason.get(rule) ?? 0) + 1);
  }
  out.reasons = [...byReason].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
  return out;
}
