import { z } from 'zod';
import { InvalidInput } from '../errors.js';
import { createIdentities } from '../identity.js';
import type { CheckpointDelegation, CheckpointDoc, DelegationDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';

/** An approver named by email or by Slack user id (U…/W…); emails compare lower-case, Slack ids upper-case. */
const person = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .refine((s) => s.includes('@') || /^[UW][A-Z0-9]{2,}$/i.test(s), {
    message: 'expected an email address or a Slack user id (U…)',
  })
  .transform((s) => (s.includes('@') ? s.toLowerCase() : s.toUpperCase()));

/**
 * `until` is a moment or a calendar date; a date means "through the end of that day, UTC", so "away until
 * 2026-12-04" still covers the 4th.
 */
const untilSchema = z.union([
  z.iso.date().transform((d) => new Date(Date.parse(`${d}T00:00:00Z`) + 24 * 60 * 60 * 1000)),
  z.iso.datetime({ offset: true }).transform((d) => new Date(d)),
  z.date(),
]);

const delegationRequestSchema = z.strictObject({
  approver: person,
  delegate: person,
  until: untilSchema,
  reason: z.string().trim().max(500).optional(),
  /** Who set it: the API caller's name or the Slack user who ran `/countersign away`. */
  createdBy: z.string().trim().min(1).max(200),
});
export type DelegationRequest = z.input<typeof delegationRequestSchema>;

export interface DelegationView {
  approver: string;
  delegate: string;
  until: Date;
  reason: string | null;
  createdBy: string;
  createdAt: Date;
  active: boolean;
}

const viewOf = (d: DelegationDoc, now: Date): DelegationView => ({
  approver: d.approver,
  delegate: d.delegate,
  until: d.until,
  reason: d.reason ?? null,
  createdBy: d.createdBy,
  createdAt: d.createdAt,
  active: new Date(d.until) > now,
});

function issuesOf(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
}

/** One delegation per approver: setting again replaces it. Refuses a past `until` and delegating to oneself. */
export async function setDelegation(deps: EngineDeps, request: DelegationRequest): Promise<DelegationView> {
  const parsed = delegationRequestSchema.safeParse(request);
  if (!parsed.success) throw new InvalidInput('the delegation is not valid', issuesOf(parsed.error));
  const { approver, delegate, until, reason, createdBy } = parsed.data;
  const now = deps.clock.now();
  if (until <= now) {
    throw new InvalidInput('the delegation is not valid', [
      { path: 'until', message: `must be in the future (it is ${until.toISOString()})` },
    ]);
  }
  const approverIds = await createIdentities(deps.store).expand([approver]);
  if (approverIds.includes(delegate.toLowerCase())) {
    throw new InvalidInput('the delegation is not valid', [
      { path: 'delegate', message: 'an approver cannot delegate to themselves' },
    ]);
  }
  const doc: DelegationDoc = {
    _id: approver.toLowerCase(),
    approver,
    delegate,
    until,
    ...(reason ? { reason } : {}),
    createdBy,
    createdAt: now,
  };
  // The approver's other identifiers may hold an older delegation (set by email, now by Slack id): one wins.
  await deps.store.delegations.deleteMany({ _id: { $in: approverIds, $ne: doc._id } });
  await deps.store.delegations.replaceOne({ _id: doc._id }, doc, { upsert: true });
  notifyCache.delete(deps);
  deps.logger.info({ approver, delegate, until }, 'delegation set');
  return viewOf(doc, now);
}

/** Ends the delegation of `approver`, whichever of their identifiers it was set under. */
export async function clearDelegation(deps: EngineDeps, approver: string): Promise<{ cleared: number }> {
  const ids = await createIdentities(deps.store).expand([approver]);
  const res = await deps.store.delegations.deleteMany({ _id: { $in: ids } });
  notifyCache.delete(deps);
  deps.logger.info({ approver, cleared: res.deletedCount }, 'delegation cleared');
  return { cleared: res.deletedCount ?? 0 };
}

export async function listDelegations(deps: EngineDeps, filter: { active?: boolean } = {}): Promise<DelegationView[]> {
  const now = deps.clock.now();
  const docs = await deps.store.delegations.find({}).sort({ until: 1 }).lean<DelegationDoc[]>();
  return docs.map((d) => viewOf(d, now)).filter((v) => filter.active === undefined || v.active === filter.active);
}

async function activeDelegations(deps: EngineDeps): Promise<DelegationDoc[]> {
  return deps.store.delegations.find({ until: { $gt: deps.clock.now() } }).lean<DelegationDoc[]>();
}

/**
 * Who to tell besides the approvers changes rarely and matters only for notifying: every new checkpoint reads it
 * through a cache of a few seconds (emptied when this process sets or clears a delegation). Who may decide is never
 * read from it: authorityOf asks the store each time.
 */
const NOTIFY_CACHE_MS = 5_000;
const notifyCache = new WeakMap<EngineDeps, { until: number; docs: Promise<DelegationDoc[]> }>();
function delegationsToNotify(deps: EngineDeps): Promise<DelegationDoc[]> {
  const cached = notifyCache.get(deps);
  const now = deps.clock.now();
  if (cached && cached.until > Date.now()) {
    return cached.docs.then((docs) => docs.filter((d) => new Date(d.until) > now));
  }
  const docs = activeDelegations(deps);
  notifyCache.set(deps, { until: Date.now() + NOTIFY_CACHE_MS, docs });
  docs.catch(() => notifyCache.delete(deps));
  return docs;
}

/** Delegates are not approvers in their own right: those the engine only added to be notified are left out. */
function ownApprovers(cp: CheckpointDoc): string[] {
  const addedOnly = new Set((cp.delegations ?? []).filter((d) => d.added).map((d) => d.delegate.toLowerCase()));
  return [...cp.approvers.emails, ...cp.approvers.slackUsers]
    .map((a) => a.toLowerCase())
    .filter((a) => !addedOnly.has(a));
}

/** Whether the person behind `ids` may decide `cp` themselves: listed (through identity links) or in a directory. */
async function decidesInOwnRight(deps: EngineDeps, cp: CheckpointDoc, ids: string[]): Promise<boolean> {
  const listed = ownApprovers(cp);
  if (ids.some((id) => listed.includes(id))) return true;
  for (const directory of deps.directories) {
    if (await directory.isMember(cp, ids)) return true;
  }
  return false;
}

/**
 * Who may decide: an approver in their own right, or the delegate of one while the delegation lasts (checked now,
 * not when the checkpoint was created, so a delegation set while a checkpoint waits counts and an ended one does not).
 * Delegation does not chain: a delegate's own delegate gets nothing.
 */
export async function authorityOf(
  deps: EngineDeps,
  cp: CheckpointDoc,
  actor: string,
  aliases: string[] = [],
): Promise<{ onBehalfOf?: string } | null> {
  const identities = createIdentities(deps.store);
  const ids = await identities.expand([actor, ...aliases]);
  if (await decidesInOwnRight(deps, cp, ids)) return {};
  for (const d of await activeDelegations(deps)) {
    if (!ids.includes(d.delegate.toLowerCase())) continue;
    if (await decidesInOwnRight(deps, cp, await identities.expand([d.approver]))) return { onBehalfOf: d.approver };
  }
  return null;
}

/**
 * The checkpoints of `cps` that `actor` may decide, by the rules of authorityOf, in their order: for a list of
 * many (an inbox), the actor's identities and the delegations they hold are read once, not once per checkpoint.
 */
export async function decidableBy(
  deps: EngineDeps,
  cps: readonly CheckpointDoc[],
  actor: string,
  aliases: string[] = [],
): Promise<CheckpointDoc[]> {
  if (cps.length === 0) return [];
  const identities = createIdentities(deps.store);
  const ids = await identities.expand([actor, ...aliases]);
  let principals: Promise<string[][]> | undefined;
  const approversActorStandsFor = () => {
    principals ??= (async () => {
      const out: string[][] = [];
      for (const d of await activeDelegations(deps)) {
        if (ids.includes(d.delegate.toLowerCase())) out.push(await identities.expand([d.approver]));
      }
      return out;
    })();
    return principals;
  };
  const out: CheckpointDoc[] = [];
  for (const cp of cps) {
    if (await decidesInOwnRight(deps, cp, ids)) {
      out.push(cp);
      continue;
    }
    for (const approverIds of await approversActorStandsFor()) {
      if (await decidesInOwnRight(deps, cp, approverIds)) {
        out.push(cp);
        break;
      }
    }
  }
  return out;
}

/**
 * At creation: every active delegate of a listed approver joins the approvers, so email and Slack reach them, and
 * is noted in `delegations` (added ones do not count toward an `all` quorum, which is fixed before this).
 */
export async function withDelegates(deps: EngineDeps, cp: CheckpointDoc): Promise<CheckpointDoc> {
  const active = await delegationsToNotify(deps);
  if (active.length === 0) return cp;
  const identities = createIdentities(deps.store);
  const listed = [...cp.approvers.emails, ...cp.approvers.slackUsers].map((a) => a.toLowerCase());
  const notes: CheckpointDelegation[] = [];
  const emails = [...cp.approvers.emails];
  const slackUsers = [...cp.approvers.slackUsers];
  for (const d of active) {
    const approverIds = await identities.expand([d.approver]);
    if (!approverIds.some((id) => listed.includes(id))) continue;
    const delegateIds = await identities.expand([d.delegate]);
    const added = !delegateIds.some((id) => listed.includes(id));
    const list = d.delegate.includes('@') ? emails : slackUsers;
    // Two away approvers may name the same delegate: tell them once.
    if (added && !list.includes(d.delegate)) list.push(d.delegate);
    notes.push({ approver: d.approver, delegate: d.delegate, until: d.until, added });
  }
  if (notes.length === 0) return cp;
  return { ...cp, approvers: { ...cp.approvers, emails, slackUsers }, delegations: notes };
}
