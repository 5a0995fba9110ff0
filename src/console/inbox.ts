import type { Engine } from '../engine/types.js';
import { groupMembers } from '../settings.js';
import type { Settings } from '../settings-schema.js';
import type { CheckpointDoc } from '../store/models.js';
import { alikeKey, amountOf, bulkPolicyOf, confidenceOf, lowRisk, proposedOutcomeOf } from './bulk.js';

/** One row of the inbox: what a person needs to pick what to decide next. */
export interface InboxRow {
  id: string;
  version: number;
  title: string;
  workflow: string;
  name: string;
  outcome: string;
  confidence?: number;
  amount?: number;
  createdAt: Date;
  /** When the checkpoint times out (its SLA), if it does. */
  dueAt?: Date;
  /** How the person comes to decide it when not named themselves: "group leads", "delegate for ana@…". */
  via?: string;
}

/** A pending checkpoint in a person's inbox: its row, and what bulk approval groups it by. */
export interface InboxItem extends InboxRow {
  checkpoint: CheckpointDoc;
  lowRisk: boolean;
  kind: string;
}

export interface InboxDeps {
  engine: Pick<Engine, 'listCheckpoints' | 'decidableBy' | 'listDelegations'>;
  settings: Settings;
}

/** Enough for any team's queue; the oldest beyond it wait for the next look (the list is sorted by urgency). */
const PENDING_LIMIT = 500;

const time = (d: Date | null | undefined) => (d ? new Date(d).getTime() : Number.POSITIVE_INFINITY);

/** Most urgent first: the soonest deadline, then the longest wait. */
function byUrgency(a: InboxItem, b: InboxItem): number {
  return time(a.dueAt) - time(b.dueAt) || time(a.createdAt) - time(b.createdAt) || a.id.localeCompare(b.id);
}

/**
 * Why `email` may decide `cp`, for the list's note: a delegation they hold, or a configured group of theirs that the
 * checkpoint names (stages list a group's members, so a group counts when all its members are named). Only a note;
 * the engine decides who may decide.
 */
async function viaOf(
  deps: InboxDeps,
  cp: CheckpointDoc,
  email: string,
  delegations: () => Promise<{ approver: string; delegate: string }[]>,
): Promise<string | undefined> {
  const named = new Set(cp.approvers.emails.map((e) => e.toLowerCase()));
  const noted = (cp.delegations ?? []).find((d) => d.delegate.toLowerCase() === email && d.added);
  if (noted) return `delegate for ${noted.approver}`;
  if (!named.has(email)) {
    const held = (await delegations()).find((d) => d.delegate.toLowerCase() === email);
    if (held) return `delegate for ${held.approver}`;
  }
  const groups = Object.keys(deps.settings.groups).filter((g) => {
    const members = groupMembers(deps.settings, g).emails;
    return members.includes(email) && members.every((m) => named.has(m));
  });
  return groups.length > 0 ? `group ${groups.join(', ')}` : undefined;
}

/** The pending checkpoints `email` may decide (directly, through a group, or as a delegate), most urgent first. */
export async function inboxFor(deps: InboxDeps, email: string): Promise<InboxItem[]> {
  const me = email.toLowerCase();
  const pending = await deps.engine.listCheckpoints({ status: 'pending', limit: PENDING_LIMIT });
  let delegationList: Promise<{ approver: string; delegate: string }[]> | undefined;
  const delegations = () => {
    delegationList ??= deps.engine.listDelegations({ active: true });
    return delegationList;
  };
  const items: InboxItem[] = [];
  for (const cp of await deps.engine.decidableBy(pending, me)) {
    items.push(itemOf(deps, cp, await viaOf(deps, cp, me, delegations)));
  }
  return items.sort(byUrgency);
}

/** The "via" note for one checkpoint's page. */
export function viaFor(deps: InboxDeps, cp: CheckpointDoc, email: string): Promise<string | undefined> {
  return viaOf(deps, cp, email.toLowerCase(), () => deps.engine.listDelegations({ active: true }));
}

function itemOf(deps: Pick<InboxDeps, 'settings'>, cp: CheckpointDoc, via?: string): InboxItem {
  const confidence = confidenceOf(cp);
  const amount = amountOf(cp);
  return {
    checkpoint: cp,
    id: cp._id,
    version: cp.version,
    title: cp.title,
    workflow: cp.workflow,
    name: cp.name,
    outcome: proposedOutcomeOf(cp),
    ...(confidence !== undefined ? { confidence } : {}),
    ...(amount !== undefined ? { amount } : {}),
    createdAt: new Date(cp.createdAt),
    ...(cp.timers?.timeoutAt ? { dueAt: new Date(cp.timers.timeoutAt) } : {}),
    ...(via ? { via } : {}),
    lowRisk: cp.status === 'pending' && lowRisk(cp, bulkPolicyOf(deps.settings, cp.workflow)).ok,
    kind: alikeKey(cp),
  };
}
