import { z } from 'zod';
import { AlreadyDecided, InvalidInput, issuesOf, NotAuthorized, NotFound } from '../errors.js';
import { createIdentities } from '../identity.js';
import type { Approval, CheckpointDoc, Decision } from '../store/models.js';
import { mayDecide } from './checkpoints.js';
import type { EngineDeps } from './deps.js';
import type { DecisionRequest } from './types.js';

function summaryOf(cp: CheckpointDoc) {
  return cp.decision
    ? {
        decision: cp.decision.decision,
        actor: cp.decision.actor,
        channel: cp.decision.channel,
        decidedAt: cp.decision.decidedAt,
      }
    : undefined;
}

function diffOf(keys: string[], before: Record<string, unknown>, after: Record<string, unknown>) {
  return keys
    .filter((k) => JSON.stringify(after[k]) !== JSON.stringify(before[k]))
    .map((field) => ({ field, before: before[field], after: after[field] }));
}

/** Validates a person's edits against the stored editable schema; returns the values after them. */
function applyEdits(cp: CheckpointDoc, edits: Record<string, unknown>) {
  const properties = (cp.editableSchema.properties ?? {}) as Record<string, unknown>;
  const unknown = Object.keys(edits).filter((k) => !(k in properties));
  if (unknown.length > 0) {
    throw new InvalidInput(
      'edits name fields that cannot be edited',
      unknown.map((k) => ({
        path: k,
        message: `not an editable field (editable: ${Object.keys(properties).join(', ')})`,
      })),
    );
  }
  const parsed = z
    .fromJSONSchema(cp.editableSchema as Parameters<typeof z.fromJSONSchema>[0])
    .safeParse({ ...cp.values, ...edits });
  if (!parsed.success) throw new InvalidInput('the edits are not valid', issuesOf(parsed.error));
  return { values: parsed.data as Record<string, unknown>, keys: Object.keys(properties) };
}

async function audit(deps: EngineDeps, cp: CheckpointDoc, req: DecisionRequest, outcome: string, detail?: string) {
  const entry = {
    at: deps.clock.now(),
    actor: req.actor,
    channel: req.channel,
    outcome,
    ...(detail ? { detail } : {}),
  };
  await deps.store.checkpoints.updateOne({ _id: cp._id }, { $push: { audit: entry } });
  deps.metrics.decisionsRefused.inc({ channel: req.channel, reason: outcome });
  deps.logger.info({ checkpointId: cp._id, channel: req.channel, outcome }, 'decision refused');
}

/**
 * The one decide path: API calls, approval links, Slack clicks and timeouts all come here. Every write is
 * conditional on `status: 'pending'` and the version read, so the first valid decision wins everywhere and a
 * partial approval racing another is re-applied to the newer state. Any authorised reject decides at once;
 * approvals count toward the quorum. Returns the checkpoint: still `pending` after a partial approval.
 */
export async function decide(deps: EngineDeps, req: DecisionRequest): Promise<CheckpointDoc> {
  const trusted = req.channel === 'api' || req.channel === 'policy' || req.channel === 'timeout';
  let authorised = trusted;
  const identities = await createIdentities(deps.store).expand([req.actor, ...(req.aliases ?? [])]);
  for (let attempt = 0; attempt < 20; attempt++) {
    const cp = await deps.store.checkpoints.findById(req.checkpointId).lean<CheckpointDoc>();
    if (!cp) throw new NotFound(`no checkpoint ${req.checkpointId}`);
    if (cp.status !== 'pending') {
      await audit(deps, cp, req, 'already_decided');
      throw new AlreadyDecided(cp.status, summaryOf(cp));
    }
    if (!authorised) {
      authorised = await mayDecide(deps, cp, req.actor, req.aliases);
      if (!authorised) {
        await audit(deps, cp, req, 'not_authorized');
        throw new NotAuthorized(`${req.actor} may not decide this checkpoint`);
      }
    }
    const { values, keys } = applyEdits(cp, req.edits ?? {});
    const now = deps.clock.now();
    const approvals = cp.approvals ?? [];
    if (req.decision === 'approve' && approvals.some((a) => identities.includes(a.actor.toLowerCase()))) {
      throw new InvalidInput(
        `${req.actor} has already approved; waiting for ${cp.quorum.required - approvals.length} more`,
      );
    }
    const approval: Approval = {
      actor: req.actor,
      aliases: req.aliases ?? [],
      channel: req.channel,
      at: now,
      ...(req.comment ? { comment: req.comment } : {}),
      diff: diffOf(keys, cp.values, values),
    };
    const required = cp.quorum?.required ?? 1;
    const final = req.decision === 'reject' || approvals.length + 1 >= required;
    const original = cp.originalValues ?? cp.values;
    const diff = diffOf(keys, original, values);
    const decision: Decision = {
      decision: req.decision,
      actor: req.actor,
      channel: req.channel,
      ...(req.comment ? { comment: req.comment } : {}),
      edits: Object.fromEntries(diff.map((d) => [d.field, d.after])),
      diff,
      decidedAt: now,
    };
    const update = final
      ? {
          $set: {
            status: req.decision === 'approve' ? 'approved' : 'rejected',
            decision,
            values,
            approvals: [...approvals, approval],
            updatedAt: now,
          },
          $inc: { version: 1 },
        }
      : { $set: { values, approvals: [...approvals, approval], updatedAt: now }, $inc: { version: 1 } };
    const updated = await deps.store.checkpoints
      .findOneAndUpdate({ _id: cp._id, status: 'pending', version: cp.version }, update, { returnDocument: 'after' })
      .lean<CheckpointDoc>();
    if (!updated) continue; // someone else wrote first: read again and re-apply to the newer state
    if (!final) {
      deps.logger.info(
        { runId: cp.runId, checkpointId: cp._id, approvals: approvals.length + 1, required },
        'partial approval',
      );
      await deps.queues.enqueueNotify(cp._id, 'progress', updated.version);
      return updated;
    }
    deps.metrics.decisions.inc({ channel: req.channel, decision: req.decision });
    deps.logger.info(
      { runId: cp.runId, checkpointId: cp._id, decision: req.decision, channel: req.channel },
      'decided',
    );
    // If this process dies here, the reconciler finds the decided checkpoint whose step still waits.
    await deps.queues.enqueuePass(cp.runId, `cp-${cp._id}`);
    await deps.queues.enqueueNotify(cp._id, 'decided');
    return updated;
  }
  throw new Error(`checkpoint ${req.checkpointId} kept changing under concurrent decisions; try again`);
}
