import { z } from 'zod';
import { AlreadyDecided, InvalidInput, issuesOf, NotAuthorized, NotFound } from '../errors.js';
import { type CheckpointDoc, type Decision, type RunDoc, SCHEMA_VERSION } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import { checkpointIdFor } from './ids.js';
import type { DecisionRequest } from './types.js';
import type { CheckpointResult, CheckpointSpec } from './workflow.js';

export function buildCheckpointDoc<E extends Record<string, unknown>>(
  run: RunDoc,
  stepId: string,
  spec: CheckpointSpec<E>,
  defaultApprovers: string[],
  now: Date,
): CheckpointDoc {
  const values = spec.editable.parse(spec.values);
  const editableSchema = z.toJSONSchema(spec.editable, { io: 'input' }) as Record<string, unknown>;
  delete editableSchema.$schema;
  const emails = (spec.approvers?.emails ?? (spec.approvers?.slackUsers?.length ? [] : defaultApprovers)).map((e) =>
    e.toLowerCase(),
  );
  return {
    _id: checkpointIdFor(run._id, stepId),
    v: SCHEMA_VERSION,
    runId: run._id,
    stepId,
    workflow: run.workflow,
    name: stepId,
    status: 'pending',
    version: 0,
    title: spec.title,
    summary: spec.summary,
    evidence: spec.evidence,
    proposal: spec.proposal,
    editableSchema,
    values: values as Record<string, unknown>,
    approvers: { emails, slackUsers: spec.approvers?.slackUsers ?? [] },
    audit: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** Turns the journaled decision back into typed values through the workflow's own schema. */
export function checkpointResult<E extends Record<string, unknown>>(
  spec: CheckpointSpec<E>,
  stored: unknown,
): CheckpointResult<E> {
  const d = stored as Decision & { values: Record<string, unknown> };
  return {
    decision: d.decision,
    values: spec.editable.parse(d.values),
    edits: d.edits as Partial<E>,
    diff: d.diff,
    actor: d.actor,
    channel: d.channel,
    ...(d.comment ? { comment: d.comment } : {}),
    decidedAt: new Date(d.decidedAt),
  };
}

export function mayDecide(cp: CheckpointDoc, actor: string): boolean {
  const a = actor.trim().toLowerCase();
  return cp.approvers.emails.includes(a) || cp.approvers.slackUsers.map((u) => u.toLowerCase()).includes(a);
}

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

function validateEdits(cp: CheckpointDoc, edits: Record<string, unknown>) {
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
  if (!parsed.success) throw new InvalidInput('the edits are not valid', issuesOf(parsed.error));
  const values = parsed.data as Record<string, unknown>;
  const diff = Object.keys(properties)
    .filter((k) => JSON.stringify(values[k]) !== JSON.stringify(cp.values[k]))
    .map((field) => ({ field, before: cp.values[field], after: values[field] }));
  const changed = Object.fromEntries(diff.map((d) => [d.field, d.after]));
  return { changed, diff };
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
  deps.logger.info({ checkpointId: cp._id, actor: req.actor, channel: req.channel, outcome }, 'decision refused');
}

/**
 * The one decide path: API calls, approval links, Slack clicks and timeouts all come here. The conditional
 * update on `status: 'pending'` and `version` makes the first valid decision win; everyone later gets
 * AlreadyDecided naming who decided.
 */
export async function decide(deps: EngineDeps, req: DecisionRequest): Promise<CheckpointDoc> {
  const cp = await deps.store.checkpoints.findById(req.checkpointId).lean();
  if (!cp) throw new NotFound(`no checkpoint ${req.checkpointId}`);
  if (cp.status !== 'pending') {
    await audit(deps, cp, req, 'already_decided');
    throw new AlreadyDecided(cp.status, summaryOf(cp));
  }
  if (req.channel !== 'api' && req.channel !== 'policy' && !mayDecide(cp, req.actor)) {
    await audit(deps, cp, req, 'not_authorized');
    throw new NotAuthorized(`${req.actor} may not decide this checkpoint`);
  }
  const { changed, diff } = validateEdits(cp, req.edits ?? {});
  const now = deps.clock.now();
  const decision: Decision = {
    decision: req.decision,
    actor: req.actor,
    channel: req.channel,
    ...(req.comment ? { comment: req.comment } : {}),
    edits: changed,
    diff,
    decidedAt: now,
  };
  const updated = await deps.store.checkpoints
    .findOneAndUpdate(
      { _id: cp._id, status: 'pending', version: cp.version },
      {
        $set: { status: req.decision === 'approve' ? 'approved' : 'rejected', decision, updatedAt: now },
        $inc: { version: 1 },
      },
      { returnDocument: 'after' },
    )
    .lean();
  if (!updated) {
    const winner = await deps.store.checkpoints.findById(cp._id).lean();
    if (winner) await audit(deps, winner, req, 'already_decided');
    throw new AlreadyDecided(winner?.status ?? 'unknown', winner ? summaryOf(winner) : undefined);
  }
  deps.metrics.decisions.inc({ channel: req.channel, decision: req.decision });
  deps.logger.info({ runId: cp.runId, checkpointId: cp._id, decision: req.decision, channel: req.channel }, 'decided');
  // If this process dies here, the reconciler finds the decided checkpoint whose step still waits.
  await deps.queues.enqueuePass(cp.runId, `cp-${cp._id}`);
  await deps.queues.enqueueNotify(cp._id, 'decided');
  return updated;
}
