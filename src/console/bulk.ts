import type { Engine } from '../engine/types.js';
import { AlreadyDecided, InvalidInput, NotAuthorized, NotFound, StaleCheckpoint } from '../errors.js';
import type { Settings } from '../settings-schema.js';
import type { CheckpointDoc } from '../store/models.js';

/**
 * Which pending checkpoints the console offers to approve together. A person reviews one list and approves it
 * once, so only cases where a mistake is cheap and the AI was sure qualify, and only alike ones share a list: the
 * same workflow, the same checkpoint and the same proposed outcome. The server checks this again on submit.
 */
export interface BulkPolicy {
  maxAmount?: number;
  minConfidence?: number;
  outcomes?: string[];
}

const DEFAULT_BULK_POLICY: BulkPolicy = { minConfidence: 0.85, maxAmount: 100 };

/** The workflow's policy (`workflows.<wf>.bulkApprove`), the default when it names none, null when switched off. */
export function bulkPolicyOf(settings: Pick<Settings, 'workflows'>, workflow: string): BulkPolicy | null {
  const own = settings.workflows[workflow]?.bulkApprove;
  if (own === false) return null;
  return own ?? DEFAULT_BULK_POLICY;
}

/** The case's amount: what the workflow recorded for agreement, else a numeric `amount` among the proposed values. */
export function amountOf(cp: CheckpointDoc): number | undefined {
  const recorded = cp.agreement?.amount;
  if (typeof recorded === 'number' && Number.isFinite(recorded)) return recorded;
  const value = cp.values?.amount;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value.trim())) return Number(value);
  return undefined;
}

export function confidenceOf(cp: CheckpointDoc): number | undefined {
  const c = cp.proposal?.confidence ?? cp.agreement?.confidence ?? undefined;
  return typeof c === 'number' && Number.isFinite(c) ? c : undefined;
}

/** What the AI proposed: its own answer when the workflow recorded one, else the proposal's outcome. */
export function proposedOutcomeOf(cp: CheckpointDoc): string {
  const proposed = cp.agreement?.proposed;
  return typeof proposed === 'string' ? proposed : cp.proposal.outcome;
}

/** "Alike" for bulk approval: one reviewed list holds one kind of decision. */
export function alikeKey(cp: CheckpointDoc): string {
  return [cp.workflow, cp.name, proposedOutcomeOf(cp)].join(' / ');
}

export type LowRisk = { ok: true } | { ok: false; reason: string };

/** Whether `cp` may be approved in bulk under `policy`; when not, why, in words for the person. */
export function lowRisk(cp: CheckpointDoc, policy: BulkPolicy | null): LowRisk {
  if (!policy) return { ok: false, reason: `bulk approval is switched off for ${cp.workflow}` };
  // The AI asked a person (a proposal of `review`): there is nothing to approve without reading the case.
  if (cp.agreement && cp.agreement.proposed === null)
    return { ok: false, reason: 'the AI made no proposal to approve' };
  const outcome = proposedOutcomeOf(cp);
  if (policy.outcomes && !policy.outcomes.includes(outcome))
    return { ok: false, reason: `the proposed outcome "${outcome}" is not approved in bulk` };
  if (policy.minConfidence !== undefined) {
    const confidence = confidenceOf(cp);
    if (confidence === undefined || confidence < policy.minConfidence)
      return {
        ok: false,
        reason: `the AI's confidence (${confidence === undefined ? 'unknown' : `${Math.round(confidence * 100)}%`}) is below ${Math.round(policy.minConfidence * 100)}%`,
      };
  }
  if (policy.maxAmount !== undefined) {
    const amount = amountOf(cp);
    if (amount === undefined || amount > policy.maxAmount)
      return {
        ok: false,
        reason: `the amount (${amount === undefined ? 'unknown' : amount}) is above the bulk limit of ${policy.maxAmount}`,
      };
  }
  // Several approvers in turn (a quorum) each review the case; one person's list should not stand for that.
  if ((cp.quorum?.required ?? 1) > 1) return { ok: false, reason: 'it needs more than one approval' };
  return { ok: true };
}

export interface BulkGroup<T> {
  key: string;
  items: T[];
}

/** Low-risk items grouped by kind, only groups of two or more (one item is decided on its own page). */
export function bulkGroups<T extends { checkpoint: CheckpointDoc; lowRisk: boolean }>(items: T[]): BulkGroup<T>[] {
  const byKey = new Map<string, T[]>();
  for (const item of items) {
    if (!item.lowRisk) continue;
    const key = alikeKey(item.checkpoint);
    byKey.set(key, [...(byKey.get(key) ?? []), item]);
  }
  return [...byKey].filter(([, list]) => list.length >= 2).map(([key, list]) => ({ key, items: list }));
}

/** One selected item as the form sent it: the checkpoint and the version the person saw. */
export interface BulkSelection {
  checkpointId: string;
  version: number;
}

export type BulkOutcome =
  | { status: 'approved'; checkpointId: string; title: string; runId: string; pendingApprovals?: number }
  | {
      status: 'already_decided';
      checkpointId: string;
      title: string;
      runId: string;
      decided?: { decision: string; actor: string; channel: string; decidedAt: Date };
      state: string;
    }
  | {
      status: 'stale' | 'not_authorized' | 'invalid' | 'not_low_risk' | 'not_found';
      checkpointId: string;
      title: string;
      reason: string;
    };

export interface BulkDeps {
  engine: Pick<Engine, 'getCheckpoint' | 'decide'>;
  settings: Pick<Settings, 'workflows'>;
}

/**
 * Approves each selected item on its own through the one decide path (each decision audited by the engine), at
 * the version the person reviewed. Nothing is overwritten: an item decided meanwhile, changed since, no longer
 * the person's, or not low-risk and alike any more is reported with why and left as it is.
 */
export async function bulkApprove(
  deps: BulkDeps,
  req: { actor: string; kind: string; selections: BulkSelection[]; comment?: string },
): Promise<BulkOutcome[]> {
  const out: BulkOutcome[] = [];
  for (const { checkpointId, version } of req.selections) {
    const cp = await deps.engine.getCheckpoint(checkpointId);
    if (!cp) {
      out.push({ status: 'not_found', checkpointId, title: checkpointId, reason: 'no such checkpoint' });
      continue;
    }
    const base = { checkpointId, title: cp.title, runId: cp.runId };
    if (cp.status === 'pending') {
      const risk = lowRisk(cp, bulkPolicyOf(deps.settings, cp.workflow));
      if (!risk.ok) {
        out.push({
          status: 'not_low_risk',
          checkpointId,
          title: cp.title,
          reason: `not approved in bulk: ${risk.reason}`,
        });
        continue;
      }
      if (alikeKey(cp) !== req.kind) {
        out.push({
          status: 'not_low_risk',
          checkpointId,
          title: cp.title,
          reason: 'it is not alike the others in the list',
        });
        continue;
      }
    }
    try {
      const decided = await deps.engine.decide({
        checkpointId,
        decision: 'approve',
        actor: req.actor,
        channel: 'console',
        expectedVersion: version,
        ...(req.comment ? { comment: req.comment } : {}),
      });
      out.push({
        status: 'approved',
        ...base,
        ...(decided.status === 'pending'
          ? { pendingApprovals: decided.quorum.required - decided.approvals.length }
          : {}),
      });
    } catch (err) {
      out.push(refusalOf(err, base));
    }
  }
  return out;
}

function refusalOf(err: unknown, base: { checkpointId: string; title: string; runId: string }): BulkOutcome {
  if (err instanceof AlreadyDecided)
    return {
      status: 'already_decided',
      ...base,
      state: err.status,
      ...(err.decided ? { decided: { ...err.decided, decidedAt: new Date(err.decided.decidedAt) } } : {}),
    };
  if (err instanceof StaleCheckpoint)
    return {
      status: 'stale',
      checkpointId: base.checkpointId,
      title: base.title,
      reason: 'it changed after you reviewed it; open it to review again',
    };
  if (err instanceof NotAuthorized)
    return {
      status: 'not_authorized',
      checkpointId: base.checkpointId,
      title: base.title,
      reason: 'you may not decide it (any more)',
    };
  if (err instanceof InvalidInput || err instanceof NotFound)
    return { status: 'invalid', checkpointId: base.checkpointId, title: base.title, reason: err.message };
  throw err;
}
