import { z } from 'zod';
import { agreementModel } from '../store/agreements.js';
import type { Store } from '../store/models.js';

/**
 * When an agent's version (src/agents/version.ts: its instructions, schemas, tools, limits and model) changed, and how
 * agreement with people moved across the change. Read from the agreement records, which carry the versions of the
 * agents behind each proposal.
 */
export interface VersionChange {
  workflow: string;
  /** The agents whose version changed at that moment, by name (several when they were deployed together). */
  agents: { agent: string; from: string; to: string }[];
  /** The first decision on a proposal made with the new version. */
  changedAt: Date;
  /** Person decisions on clear proposals made with the old version, and with the new one. */
  before: { compared: number; agreed: number };
  after: { compared: number; agreed: number };
  /** Whether enough decisions were made after the change for its rate to say something (MIN_DECISIONS_AFTER_CHANGE). */
  enoughAfter: boolean;
}

/** How far before the period the digest looks for decisions on the old version. */
const VERSION_LOOKBACK_MS = 30 * 24 * 3_600_000;
/** Fewer decisions than this after a change say nothing yet about the new version. */
const MIN_DECISIONS_AFTER_CHANGE = 5;
/** A digest reads at most this many records; the newest are kept. */
const READ_LIMIT = 20_000;

const recordSchema = z.object({
  workflow: z.string(),
  decidedAt: z.date(),
  agreed: z.boolean().nullable(),
  // Records written before versions were recorded have none: they take no part in finding a change.
  versions: z.record(z.string(), z.string()).nullish(),
});

/** One person decision on a clear proposal, with the versions behind the proposal. */
export interface VersionedDecision {
  workflow: string;
  decidedAt: Date;
  agreed: boolean;
  versions: Readonly<Record<string, string>>;
}

/**
 * The most recent version change of each workflow whose first decision on the new version falls in [from, to], with
 * agreement before and after it. Reads person decisions from `lookbackMs` before `from` to `to` (the agreements'
 * `decidedAt` index serves it).
 */
export async function versionChanges(
  store: Pick<Store, 'connection'>,
  from: Date,
  to: Date,
  lookbackMs = VERSION_LOOKBACK_MS,
): Promise<VersionChange[]> {
  const docs = await agreementModel(store)
    .find(
      { decidedAt: { $gte: new Date(from.getTime() - lookbackMs), $lte: to }, decidedBy: 'person' },
      { workflow: 1, decidedAt: 1, agreed: 1, versions: 1 },
    )
    .sort({ decidedAt: -1 })
    .limit(READ_LIMIT)
    .lean();
  const decisions: VersionedDecision[] = [];
  for (const doc of docs) {
    const parsed = recordSchema.safeParse(doc);
    if (!parsed.success || parsed.data.agreed === null) continue;
    const { workflow, decidedAt, agreed, versions } = parsed.data;
    decisions.push({ workflow, decidedAt, agreed, versions: versions ?? {} });
  }
  return findVersionChanges(decisions.reverse(), from, to);
}

/** A change of one agent's version, and the decisions on either side of it. */
interface AgentChange {
  agent: string;
  from: string;
  to: string;
  changedAt: Date;
  before: VersionedDecision[];
  after: VersionedDecision[];
}

/** `decisions` oldest first. Pure, so the rules below are tested without a store. */
export function findVersionChanges(decisions: readonly VersionedDecision[], from: Date, to: Date): VersionChange[] {
  const byWorkflow = new Map<string, VersionedDecision[]>();
  for (const d of decisions) byWorkflow.set(d.workflow, [...(byWorkflow.get(d.workflow) ?? []), d]);
  const changes: VersionChange[] = [];
  for (const [workflow, list] of [...byWorkflow].sort(([a], [b]) => a.localeCompare(b))) {
    const agents = [...new Set(list.flatMap((d) => Object.keys(d.versions)))].sort();
    const found = agents.flatMap((agent) => {
      const change = lastChange(agent, list);
      return change ? [change] : [];
    });
    const latest = Math.max(...found.map((c) => c.changedAt.getTime()));
    const together = found.filter((c) => c.changedAt.getTime() === latest);
    const first = together[0];
    if (!first || first.changedAt < from || first.changedAt > to) continue;
    changes.push({
      workflow,
      agents: together.map(({ agent, from: old, to: now }) => ({ agent, from: old, to: now })),
      changedAt: first.changedAt,
      before: counts(first.before),
      after: counts(first.after),
      enoughAfter: first.after.length >= MIN_DECISIONS_AFTER_CHANGE,
    });
  }
  return changes;
}

/**
 * The agent's latest change: from the version before the one now in force to the one in force. Workers of both
 * versions answer side by side while a deploy rolls, so the change is dated by the first decision on the new version
 * after the old one was in use, and each side counts the decisions made with its own version.
 */
function lastChange(agent: string, all: readonly VersionedDecision[]): AgentChange | null {
  const list = all.filter((d) => d.versions[agent] !== undefined);
  const versionAt = (i: number) => list[i]?.versions[agent];
  const current = versionAt(list.length - 1);
  let lastOther = list.length - 1;
  while (lastOther >= 0 && versionAt(lastOther) === current) lastOther--;
  const previous = versionAt(lastOther);
  if (current === undefined || previous === undefined) return null;
  // Decisions on a version older than the previous one belong to an earlier change.
  let start = lastOther;
  for (let v = versionAt(start - 1); v === current || v === previous; v = versionAt(start - 1)) start--;
  const firstPrevious = list.findIndex((_, i) => i >= start && versionAt(i) === previous);
  const changeIndex = list.findIndex((_, i) => i > firstPrevious && versionAt(i) === current);
  const changed = list[changeIndex];
  if (!changed) return null;
  return {
    agent,
    from: previous,
    to: current,
    changedAt: changed.decidedAt,
    before: list.filter((d, i) => i >= start && d.versions[agent] === previous),
    after: list.filter((d, i) => i >= changeIndex && d.versions[agent] === current),
  };
}

function counts(list: readonly VersionedDecision[]): { compared: number; agreed: number } {
  return { compared: list.length, agreed: list.filter((d) => d.agreed).length };
}
