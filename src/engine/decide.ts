import { z } from 'zod';
import { AlreadyDecided, InvalidInput, NotAuthorized, NotFound, StaleCheckpoint } from '../errors.js';
import { createIdentities } from '../identity.js';
import { isInfrastructureError } from '../infra-errors.js';
import { appendAudit } from '../store/audit.js';
import type { Approval, CheckpointDoc, Decision } from '../store/models.js';
import { type WithTheClaim, writeCheckpoint } from './checkpoint-write.js';
import { authorityOf } from './delegation.js';
import type { EngineDeps } from './deps.js';
import { readableIssues } from './schema-messages.js';
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
  const merged = { ...cp.values, ...edits };
  const parsed = z.fromJSONSchema(cp.editableSchema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(merged);
  // The rebuilt schema knows the rules but not their words; the messages come from the stored `errorMessage`.
  if (!parsed.success)
    throw new InvalidInput('the edits are not valid', readableIssues(cp.editableSchema, parsed.error.issues, merged));
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
  await appendAudit(deps.store, cp, entry);
  deps.metrics.decisionsRefused.inc({ channel: req.channel, reason: outcome });
  deps.logger.info({ checkpointId: cp._id, channel: req.channel, outcome }, 'decision refused');
}

/**
 * The one decide path: API calls, approval links, Slack clicks and timeouts all come here. The write claims the
 * checkpoint's next version (writeCheckpoint), so the first valid decision wins everywhere and a partial approval
 * racing another is re-applied to the newer state. Any authorised reject decides at once;
 * approvals count toward the quorum. Returns the checkpoint: still `pending` after a partial approval.
 */
export async function decide(deps: EngineDeps, req: DecisionRequest, alongside?: WithTheClaim): Promise<CheckpointDoc> {
  const trusted = req.channel === 'api' || req.channel === 'policy' || req.channel === 'timeout';
  let authorised = trusted;
  let onBehalfOf: string | undefined;
  // Who else this actor is (email ↔ Slack user) matters only to refuse a second approval by the same person.
  let identities: string[] | undefined;
  let final = false;
  const updated = await writeCheckpoint(
    deps,
    req.checkpointId,
    async (cp) => {
      if (cp.status !== 'pending') {
        await audit(deps, cp, req, 'already_decided');
        throw new AlreadyDecided(cp.status, summaryOf(cp));
      }
      if (!authorised) {
        const authority = await authorityOf(deps, cp, req.actor, req.aliases);
        authorised = authority !== null;
        onBehalfOf = authority?.onBehalfOf;
        if (!authorised) {
          await audit(deps, cp, req, 'not_authorized');
          throw new NotAuthorized(`${req.actor} may not decide this checkpoint`);
        }
      }
      // The person decided on what they saw; a checkpoint that moved on since (a partial approval, an edit) is not it.
      if (req.expectedVersion !== undefined && cp.version !== req.expectedVersion) {
        await audit(deps, cp, req, 'stale', `reviewed version ${req.expectedVersion}, now ${cp.version}`);
        throw new StaleCheckpoint(req.expectedVersion, cp.version);
      }
      if (req.decision === 'reject' && cp.requireRejectReason && !req.comment?.trim()) {
        await audit(deps, cp, req, 'reason_required');
        throw new InvalidInput('a reason is required to reject: add a comment saying why', [
          { path: 'comment', message: 'Say why you reject: a comment is required.' },
        ]);
      }
      const { values, keys } = applyEdits(cp, req.edits ?? {});
      const now = deps.clock.now();
      const approvals = cp.approvals ?? [];
      if (req.decision === 'approve' && approvals.length > 0)
        identities ??= await createIdentities(deps.store).expand([req.actor, ...(req.aliases ?? [])]);
      // A delegate's approval counts as the approver's: neither may approve again for the same person.
      const mine = new Set([...(identities ?? []), ...(onBehalfOf ? [onBehalfOf.toLowerCase()] : [])]);
      const approvedFor = (a: Approval) =>
        [a.actor, ...(a.aliases ?? []), ...(a.onBehalfOf ? [a.onBehalfOf] : [])].some((x) => mine.has(x.toLowerCase()));
      if (req.decision === 'approve' && approvals.some(approvedFor)) {
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
        ...(onBehalfOf ? { onBehalfOf } : {}),
      };
      final = req.decision === 'reject' || approvals.length + 1 >= (cp.quorum?.required ?? 1);
      if (!final) return { values, approvals: [...approvals, approval] };
      const diff = diffOf(keys, cp.originalValues ?? cp.values, values);
      const decision: Decision = {
        decision: req.decision,
        actor: req.actor,
        channel: req.channel,
        ...(req.comment ? { comment: req.comment } : {}),
        edits: Object.fromEntries(diff.map((d) => [d.field, d.after])),
        diff,
        decidedAt: now,
        ...(onBehalfOf ? { onBehalfOf } : {}),
      };
      return {
        status: req.decision === 'approve' ? 'approved' : 'rejected',
        decision,
        values,
        approvals: [...approvals, approval],
      };
    },
    alongside,
  );
  if (!updated) throw new NotFound(`no checkpoint ${req.checkpointId}`);
  if (!final) {
    deps.logger.info(
      { runId: updated.runId, checkpointId: updated._id, approvals: updated.approvals.length },
      'partial approval',
    );
    await afterTheDecision(deps, updated, () => deps.queues.enqueueNotify(updated._id, 'progress', updated.version));
    return updated;
  }
  deps.metrics.decisions.inc({ channel: req.channel, decision: req.decision });
  deps.logger.info(
    { runId: updated.runId, checkpointId: updated._id, decision: req.decision, channel: req.channel },
    'decided',
  );
  await afterTheDecision(deps, updated, () => deps.queues.enqueueNotify(updated._id, 'decided'));
  // The caller resumes the run (in process, see resume.ts, or by a job); if it dies first, the reconciler finds the
  // decided checkpoint whose step still waits.
  return updated;
}

/**
 * What follows a decision that is recorded already (telling the channels, resuming the run) must not turn it into
 * an error for the person who made it: when Redis is away, the decision stands, the answer says so, and the
 * reconciler puts back the resume and the channels' deliveries from the journal (decided checkpoints whose step has
 * not ended; deliveries without a `told` record). Anything but an outage is still an error.
 */
export async function afterTheDecision(deps: EngineDeps, cp: CheckpointDoc, work: () => Promise<unknown>) {
  try {
    await work();
  } catch (err) {
    if (!isInfrastructureError(err)) throw err;
    deps.logger.warn(
      { runId: cp.runId, checkpointId: cp._id, err: (err as Error).message },
      'decision recorded; what follows it waits for the reconciler (outage)',
    );
  }
}
