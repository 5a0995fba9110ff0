import type { Approvers } from '../store/models.js';
import type {
  ApprovalResult,
  ApprovalSpec,
  CheckpointResult,
  CheckpointSpec,
  ResolvedStage,
  WorkflowContext,
} from './workflow.js';

export type { ApprovalResult, ApprovalSpec, ResolvedStage } from './workflow.js';

/** A stage as operators write it in COUNTERSIGN_CONFIG (`workflows.<name>.stages[]`). */
export interface StagePolicy {
  name?: string;
  /** A group name from `groups`, or a list of group names, emails, Slack user ids (U…/W…) or user-group ids (S…). */
  approvers: string | string[];
  /** The stage applies when the amount is above this. */
  above?: number;
  /** The stage applies when the agents' risk score is above this. */
  riskAbove?: number;
  quorum?: 'any' | 'all' | { count: number };
}

export interface StageFacts {
  amount?: number;
  risk?: number;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const SLACK_USER = /^[UW][A-Z0-9]{2,}$/;
const SLACK_GROUP = /^S[A-Z0-9]{2,}$/;
const SLACK_CHANNEL = /^C[A-Z0-9]{2,}$/;

/**
 * Whether a stage applies to these facts. With no threshold it always applies; with thresholds it applies when any
 * of them is exceeded. A threshold whose fact the workflow did not give counts as exceeded: a missing amount asks
 * more people, never fewer.
 */
function applies(stage: StagePolicy, facts: StageFacts): boolean {
  if (stage.above === undefined && stage.riskAbove === undefined) return true;
  const byAmount = stage.above !== undefined && (facts.amount === undefined || facts.amount > stage.above);
  const byRisk = stage.riskAbove !== undefined && (facts.risk === undefined || facts.risk > stage.riskAbove);
  return byAmount || byRisk;
}

/** Group names become their members (groups may name groups); anything else must be an email or a Slack id. */
function membersOf(
  entry: string,
  groups: Readonly<Record<string, readonly string[]>>,
  where: string,
  seen: ReadonlySet<string> = new Set(),
): string[] {
  const name = entry.trim();
  const group = Object.hasOwn(groups, name) ? groups[name] : undefined;
  if (group) {
    if (seen.has(name)) throw new Error(`${where}: group "${name}" contains itself`);
    const inner = new Set([...seen, name]);
    return group.flatMap((m) => membersOf(m, groups, `${where} (group ${name})`, inner));
  }
  if (EMAIL.test(name)) return [name.toLowerCase()];
  if (SLACK_USER.test(name) || SLACK_GROUP.test(name) || SLACK_CHANNEL.test(name)) return [name];
  throw new Error(
    `${where}: "${name}" is neither a group in \`groups\` nor an email, Slack user (U…), user group (S…) or channel (C…)`,
  );
}

function approversOf(members: string[]): Partial<Approvers> {
  const unique = [...new Set(members)];
  return {
    emails: unique.filter((m) => EMAIL.test(m)),
    slackUsers: unique.filter((m) => SLACK_USER.test(m)),
    slackGroups: unique.filter((m) => SLACK_GROUP.test(m)),
    slackChannels: unique.filter((m) => SLACK_CHANNEL.test(m)),
  };
}

function quorumOf(q: StagePolicy['quorum'], approvers: Partial<Approvers>, where: string): ResolvedStage['quorum'] {
  const people = (approvers.emails?.length ?? 0) + (approvers.slackUsers?.length ?? 0);
  const onlyPeople = !approvers.slackGroups?.length && !approvers.slackChannels?.length;
  if (q === undefined || q === 'any') return { mode: 'any' };
  if (q === 'all') {
    if (people === 0) throw new Error(`${where}: quorum "all" needs approvers named one by one, not only groups`);
    return { mode: 'all' };
  }
  if (!Number.isInteger(q.count) || q.count < 1) throw new Error(`${where}: quorum count must be a whole number ≥ 1`);
  // With a Slack user group the engine cannot count members; with named people only it can refuse the impossible.
  if (onlyPeople && q.count > people)
    throw new Error(`${where}: quorum needs ${q.count} approvals but only ${people} approvers are named`);
  return { mode: 'count', required: q.count };
}

/**
 * Picks the stages of a policy that apply to these facts, in order, and resolves their approver groups.
 * Throws naming the stage when a group or an approver is unknown or a quorum cannot be met.
 *
 * @example
 * resolveStages(
 *   [{ name: 'team lead', approvers: 'leads' }, { name: 'finance', approvers: 'finance', above: 500, quorum: 'all' }],
 *   { leads: ['ana@example.com', 'U024BE7LH'], finance: ['fin@example.com'] },
 *   { amount: 750 },
 * ); // both stages; with { amount: 120 } only the team lead
 */
export function resolveStages(
  stages: readonly StagePolicy[],
  groups: Readonly<Record<string, readonly string[]>>,
  facts: StageFacts,
): ResolvedStage[] {
  return stages.flatMap((stage, i) => {
    const name = stage.name?.trim() || `stage ${i + 1}`;
    const where = `stages[${i}] "${name}"`;
    if (!applies(stage, facts)) return [];
    const entries = typeof stage.approvers === 'string' ? [stage.approvers] : stage.approvers;
    if (entries.length === 0) throw new Error(`${where}: names no approvers`);
    const members = entries.flatMap((e) => membersOf(e, groups, where));
    // An empty group must not fall back to the default approvers: that would hand the stage to someone else.
    if (members.length === 0) throw new Error(`${where}: its approver groups are empty`);
    const approvers = approversOf(members);
    return [{ name, approvers, quorum: quorumOf(stage.quorum, approvers, where) }];
  });
}

/** Step ids: the approval's own id for a single stage, else `<id>-<stage name>` (made unique and id-safe). */
export function stageStepIds(id: string, stages: readonly ResolvedStage[]): string[] {
  if (stages.length <= 1) return [id];
  const used = new Set<string>();
  return stages.map((s, i) => {
    const slug =
      s.name
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || String(i + 1);
    const stepId = used.has(slug) ? `${id}-${slug}-${i + 1}` : `${id}-${slug}`;
    used.add(slug);
    return stepId;
  });
}

const shortDate = (d: Date) => `${new Date(d).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const shown = (v: unknown) => {
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
};
const person = (p: { actor: string; onBehalfOf?: string }) =>
  p.onBehalfOf ? `${p.actor} on behalf of ${p.onBehalfOf}` : p.actor;

/** "approved by ana@… via slack on 2026-11-30 21:00 UTC, edited amount 120 → 100; comment: …" */
function stageLine(result: CheckpointResult<Record<string, unknown>>): string {
  const verb = result.decision === 'approve' ? 'approved' : 'rejected';
  const earlier = (result.approvals ?? []).filter((a) => a.actor !== result.actor);
  const by =
    result.decision === 'approve' && earlier.length > 0
      ? [...earlier.map(person), person(result)].join(', ')
      : person(result);
  const parts = [`${verb} by ${by} via ${result.channel} on ${shortDate(result.decidedAt)}`];
  if (result.diff.length > 0)
    parts.push(`edited ${result.diff.map((d) => `${d.field} ${shown(d.before)} → ${shown(d.after)}`).join(', ')}`);
  const line = parts.join(', ');
  return result.comment ? `${line}; comment: ${shown(result.comment)}` : line;
}

/** The evidence section later stages show first: what every earlier stage decided and changed. */
function earlierStagesSection(
  done: readonly (CheckpointResult<Record<string, unknown>> & { stage: string })[],
): CheckpointSpec<Record<string, unknown>>['evidence'][number] {
  return {
    title: 'Earlier approval stages',
    items: done.map((r, i) => ({ label: `Stage ${i + 1} — ${r.stage}`, value: stageLine(r) })),
  };
}

/**
 * Runs an approval policy on any workflow context: each stage is a plain `ctx.checkpoint`, so replay, channels,
 * reminders and timeouts behave as for any checkpoint, and what a stage decided is journaled before the next starts.
 */
export async function runApproval<E extends Record<string, unknown>>(
  ctx: Pick<WorkflowContext, 'checkpoint' | 'step'>,
  id: string,
  spec: ApprovalSpec<E>,
): Promise<ApprovalResult<E>> {
  const { stages: asked, requireRejectReason: askedReason, ...base } = spec;
  // The policy in force when the approval began holds for the run: a configuration reload while it waits must not
  // add, drop or reorder stages under a replay (the checkpoint ids would change and journaled stages be lost).
  const { stages, requireRejectReason } = await ctx.step(`${id}.policy`, async () => ({
    stages: asked,
    requireRejectReason: askedReason ?? false,
  }));
  const reasons = requireRejectReason ? { requireRejectReason: true } : {};
  if (stages.length === 0) {
    const result = await ctx.checkpoint(id, { ...base, ...reasons });
    const only = { ...result, stage: id };
    return {
      decision: result.decision,
      values: result.values,
      stages: [only],
      ...(result.decision === 'reject' ? { rejectedAt: id } : {}),
    };
  }
  const ids = stageStepIds(id, stages);
  const done: (CheckpointResult<E> & { stage: string })[] = [];
  let values = base.values;
  for (const [i, stage] of stages.entries()) {
    const result = await ctx.checkpoint(ids[i] ?? id, {
      ...base,
      ...reasons,
      title: stages.length > 1 ? `${base.title} (stage ${i + 1} of ${stages.length}: ${stage.name})` : base.title,
      evidence: done.length > 0 ? [earlierStagesSection(done), ...base.evidence] : base.evidence,
      values,
      approvers: stage.approvers,
      quorum: stage.quorum,
    });
    done.push({ ...result, stage: stage.name });
    values = result.values;
    if (result.decision === 'reject') return { decision: 'reject', values, stages: done, rejectedAt: stage.name };
  }
  return { decision: 'approve', values, stages: done };
}
