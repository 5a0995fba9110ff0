import { type CheckpointDoc, type RunDoc, SCHEMA_VERSION } from '../store/models.js';
import { authorityOf } from './delegation.js';
import type { EngineDeps } from './deps.js';
import { checkpointIdFor } from './ids.js';
import { toJSONSchemaWithMessages } from './schema-messages.js';
import { withDueAt } from './timer-due.js';
import type { CheckpointResult, CheckpointSpec } from './workflow.js';

const lower = (xs: string[] | undefined) => (xs ?? []).map((x) => x.trim().toLowerCase()).filter(Boolean);

export function buildCheckpointDoc<E extends Record<string, unknown>>(
  run: Pick<RunDoc, '_id' | 'workflow'>,
  stepId: string,
  spec: CheckpointSpec<E>,
  defaultApprovers: string[],
  now: Date,
): CheckpointDoc {
  const values = spec.editable.parse(spec.values) as Record<string, unknown>;
  // The workflow's own validation messages travel with the schema, so edits are refused in its words.
  const editableSchema = toJSONSchemaWithMessages(spec.editable);
  const named = spec.approvers;
  const namesSomeone = Boolean(
    named?.emails?.length || named?.slackUsers?.length || named?.slackGroups?.length || named?.slackChannels?.length,
  );
  const approvers = {
    emails: lower(namesSomeone ? named?.emails : defaultApprovers),
    slackUsers: named?.slackUsers ?? [],
    slackGroups: named?.slackGroups ?? [],
    slackChannels: named?.slackChannels ?? [],
  };
  const quorum = spec.quorum ?? { mode: 'any' as const };
  const required =
    quorum.mode === 'any'
      ? 1
      : quorum.mode === 'all'
        ? approvers.emails.length + approvers.slackUsers.length
        : quorum.required;
  if (required < 1) throw new Error(`checkpoint ${stepId}: quorum '${quorum.mode}' needs at least one named approver`);
  const at = (ms: number | undefined) => (ms === undefined ? null : new Date(now.getTime() + ms));
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
    values,
    originalValues: values,
    approvers,
    defaultApprovers: !namesSomeone,
    quorum: { mode: quorum.mode, required },
    approvals: [],
    timers: withDueAt({
      ...(spec.reminders ? { remindEveryMs: spec.reminders.everyMs, remindMax: spec.reminders.max } : {}),
      remindersSent: 0,
      nextReminderAt: at(spec.reminders?.everyMs),
      timeoutAt: at(spec.timeout?.afterMs),
      ...(spec.timeout ? { timeoutAction: spec.timeout.action } : {}),
      timeoutFired: false,
      ...(spec.timeout?.escalateTo ? { escalateTo: spec.timeout.escalateTo } : {}),
    }),
    escalatedAt: null,
    ...(spec.requireRejectReason ? { requireRejectReason: true } : {}),
    ...(spec.agreement
      ? {
          agreement: {
            field: spec.agreement.field ?? null,
            agents: spec.agreement.agents ?? [],
            ...(spec.agreement.proposed === undefined ? {} : { proposed: spec.agreement.proposed }),
            ...(spec.agreement.confidence === undefined ? {} : { confidence: spec.agreement.confidence }),
            ...(spec.agreement.amount === undefined ? {} : { amount: spec.agreement.amount }),
          },
        }
      : {}),
    audit: [],
    createdAt: now,
    updatedAt: now,
  };
}

/** Who approved a decided checkpoint, for its journaled result. A reject is the last entry of `approvals`: left out. */
export function approvedBy(cp: CheckpointDoc): NonNullable<CheckpointResult<unknown>['approvals']> {
  const approvals = cp.approvals ?? [];
  const approved = cp.decision?.decision === 'approve' ? approvals : approvals.slice(0, -1);
  return approved.map(({ actor, channel, at, onBehalfOf }) => ({
    actor,
    channel,
    at,
    ...(onBehalfOf ? { onBehalfOf } : {}),
  }));
}

/** Turns the journaled decision back into typed values through the workflow's own schema. */
export function checkpointResult<E extends Record<string, unknown>>(
  spec: CheckpointSpec<E>,
  stored: unknown,
): CheckpointResult<E> {
  const d = stored as CheckpointResult<Record<string, unknown>>;
  return {
    decision: d.decision,
    values: spec.editable.parse(d.values),
    edits: d.edits as Partial<E>,
    diff: d.diff,
    actor: d.actor,
    channel: d.channel,
    ...(d.comment ? { comment: d.comment } : {}),
    ...(d.onBehalfOf ? { onBehalfOf: d.onBehalfOf } : {}),
    ...(d.approvals ? { approvals: d.approvals.map((a) => ({ ...a, at: new Date(a.at) })) } : {}),
    decidedAt: new Date(d.decidedAt),
  };
}

/**
 * Listed emails and Slack user ids are checked through the identity links, so one person is one approver whichever
 * channel they use; groups and channel membership are asked of the directories (Slack); an active delegate of an
 * approver may decide too (src/engine/delegation.ts).
 */
export async function mayDecide(deps: EngineDeps, cp: CheckpointDoc, actor: string, aliases: string[] = []) {
  return (await authorityOf(deps, cp, actor, aliases)) !== null;
}
