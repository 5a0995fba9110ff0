import type { mongo } from 'mongoose';

/**
 * Every index of every platform collection, in one list: each names the query it serves, and
 * test/store-indexes.test.ts fails when the app sends a query that no index here (or in a module's own list, see
 * `UseCaseModule.indexes`) serves. Without an index, MongoDB scans the collection for every such query, and so
 * does FerretDB for any query not by `_id` (issue 9 measured 12 ms at 200 documents, 689 ms at 20,000).
 *
 * Rules for an entry:
 * - A query is served when it names `_id` or the leading key of an index, by equality or range (the test's rule,
 *   test/support/index-coverage.ts). Later keys serve the query's other conditions or its sort.
 * - Plain indexes only: FerretDB 1.x has no TTL, sparse or partial indexes. Expiry is a sweep by an indexed date.
 * - An index costs every insert and update of its collection; one that no query needs does not belong here.
 *
 * Collections read only by `_id` need no entry: idempotency, effects, used_tokens, email_cursors, email_claims,
 * email_auto_slots, email_attachments, form_uploads, slack_events, slack_intakes, slack_intake_threads, digest_state,
 * autonomy_revocations.
 */

export type IndexKeys = Readonly<Record<string, 1 | -1>>;

export interface IndexSpec {
  collection: string;
  /** In index order (the object's key order). */
  keys: IndexKeys;
  unique?: boolean;
  /** The query it serves, and where that query is. */
  why: string;
}

export const INDEXES: readonly IndexSpec[] = [
  // runs
  {
    collection: 'runs',
    keys: { status: 1, updatedAt: 1 },
    why: 'reconciler: unfinished runs (status queued/running) not updated since; listRuns by status',
  },
  // The console's runs list (src/console/runs-query.ts) pages newest first by (createdAt, _id): each filter it offers
  // leads an index ending in those two keys, so a page is an index walk of 51 entries at any depth.
  {
    collection: 'runs',
    keys: { workflow: 1, createdAt: -1, _id: -1 },
    why: "listRuns by workflow; a module's digest counting its workflow's runs created in the period; the console's runs list by workflow",
  },
  {
    collection: 'runs',
    keys: { createdAt: -1, _id: -1 },
    why: "listRuns without a filter, newest first (GET /api/runs); the console's runs list, cursor pages and date range",
  },
  {
    collection: 'runs',
    keys: { status: 1, createdAt: -1, _id: -1 },
    why: "the console's runs list by status, newest first",
  },
  {
    collection: 'runs',
    keys: { 'input.customerEmail': 1, createdAt: -1, _id: -1 },
    why: "the console's runs list by customer (exact address, or an address prefix from the search box)",
  },

  // steps: every journal document carries runId (docs/design.md, the journal layout)
  {
    collection: 'steps',
    keys: { runId: 1 },
    why: "a pass loads the run's journal in one find; the run view (GET /api/runs/:id and the list)",
  },
  // wakeups: one small document per step timer still set (sleeps, retries, wait timeouts)
  {
    collection: 'wakeups',
    keys: { wakeAt: 1 },
    why: 'reconciler: step timers due (wakeAt <= now), soonest first',
  },
  {
    collection: 'steps',
    keys: { 'event.key': 1, 'event.name': 1 },
    why: 'sendEvent: the steps waiting for this event (the key, a thread or a case, is the selective part)',
  },

  // eval runs (src/evals/store.ts)
  {
    collection: 'eval_runs',
    keys: { workflow: 1, startedAt: -1 },
    why: "a workflow's newest eval runs: the stored baseline, the autonomy boundary's eval evidence, the console's list",
  },

  // autonomy grants (src/autonomy/grants.ts): a handful per workflow, applied by people
  {
    collection: 'autonomy_grants',
    keys: { workflow: 1, appliedAt: -1 },
    why: "ctx.autonomy: a workflow's grants in force (one read per verdict); the boundary's history, newest first",
  },

  // checkpoints
  {
    collection: 'checkpoints',
    keys: { runId: 1 },
    why: "the run view's checkpoints of a run",
  },
  {
    collection: 'checkpoints',
    keys: { status: 1, 'decision.decidedAt': 1 },
    why: 'reconciler: decided checkpoints since the last sweep; listCheckpoints by status (digest, Slack home); the pending gauge',
  },
  {
    collection: 'checkpoints',
    keys: { status: 1, createdAt: 1 },
    why: 'reconciler: pending checkpoints created since its last round, whose people may not have been told',
  },
  {
    collection: 'checkpoints',
    keys: { 'decision.actor': 1 },
    why: "the console's runs list by approver: the runs whose checkpoint a person decided",
  },
  {
    collection: 'checkpoints',
    keys: { 'timers.dueAt': 1 },
    why: 'reconciler: checkpoints with a reminder or timeout due (timers.dueAt <= now)',
  },

  // claims
  {
    collection: 'claims',
    keys: { at: 1 },
    why: 'the claim sweep: claims older than the retention (FerretDB has no TTL index)',
  },

  // events
  {
    collection: 'events',
    keys: { name: 1, key: 1 },
    why: 'a wait that starts after its event was sent finds the event by name and key',
  },

  // checkpoint_audit
  {
    collection: 'checkpoint_audit',
    keys: { checkpointId: 1, at: 1 },
    why: "a checkpoint's audit lines, oldest first (getCheckpoint, the approval page)",
  },
  {
    collection: 'checkpoint_audit',
    keys: { runId: 1, at: 1 },
    why: "the run view's audit lines of a run, oldest first",
  },

  // model and tool call logs
  {
    collection: 'model_calls',
    keys: { at: 1 },
    why: "the digest's model usage in the period",
  },
  {
    collection: 'model_calls',
    keys: { runId: 1 },
    why: "a run's model calls: the bench's per-run counts, an operator auditing one run",
  },
  {
    collection: 'tool_calls',
    keys: { runId: 1 },
    why: "a run's tool calls: an operator auditing what one run's agents did",
  },

  // people
  {
    collection: 'identities',
    keys: { slackUserId: 1 },
    why: 'identities.expand: the email behind a Slack user id ($or with _id)',
  },
  {
    collection: 'delegations',
    keys: { until: 1 },
    why: 'activeDelegations (until > now) when checkpoints are created and decided; listDelegations by end date',
  },

  // agreements (src/store/agreements.ts)
  {
    collection: 'agreements',
    keys: { decidedAt: 1 },
    why: 'agreementStats over a period (the digest, GET /api/agreement?since=…)',
  },
  {
    collection: 'agreements',
    keys: { workflow: 1, decidedAt: 1 },
    why: 'agreementStats of one workflow (GET /api/agreement?workflow=…), optionally over a period',
  },

  // email (src/channels/email/store.ts)
  {
    collection: 'email_messages',
    keys: { threadKey: 1, seq: 1 },
    why: "a thread's first message (intakeRunOf); follow-ups in a thread after a sequence number, in order",
  },
  {
    collection: 'email_messages',
    keys: { runId: 1, receivedAt: 1 },
    why: "a case's follow-ups by run, oldest first, for the checkpoint email",
  },
  {
    collection: 'email_messages',
    keys: { status: 1, receivedAt: 1 },
    why: "staff's review list by status, newest first; the digest's quarantined and ignored mail",
  },
  {
    collection: 'email_threads',
    keys: { messageIds: 1 },
    why: 'openThreadsWith: threads of earlier versions holding a Message-ID in their array ($or with _id)',
  },
  {
    collection: 'email_threads',
    keys: { customer: 1, createdAt: 1 },
    why: 'threadsOpenedSince: the per-sender cap on new cases',
  },
  {
    collection: 'email_thread_ids',
    keys: { threadKey: 1 },
    why: "threadMessageIds: a thread's follow-up Message-IDs (a few per thread, sorted in memory)",
  },
  {
    collection: 'email_sent',
    keys: { threadKey: 1, sentAt: 1 },
    why: "the per-thread cap (sent in the last hour) and a thread's own Message-IDs, oldest first",
  },
  {
    collection: 'email_suppressed',
    keys: { address: 1 },
    why: 'what the loop breakers held back for an address (staff, test/email-loops)',
  },

  // slack (src/channels/slack/collections.ts, intake-threads.ts)
  {
    collection: 'slack_messages',
    keys: { checkpointId: 1 },
    why: "every posted copy of a checkpoint's card, to update them in place",
  },
  {
    collection: 'slack_errors',
    keys: { checkpointId: 1 },
    why: 'the Slack errors a checkpoint met, for whoever asks why a card never showed (test/slack-outbound)',
  },
  {
    collection: 'slack_intake_messages',
    keys: { threadKey: 1 },
    why: "threadMessagesAfter: a mention thread's messages for its intake run",
  },

  // console (src/console/form-link-registry.ts; a visitor's link is checked by _id)
  {
    collection: 'form_links',
    keys: { expiresAt: -1 },
    why: "the forms page's public links not yet expired, for admins to withdraw",
  },
];

/**
 * Indexes earlier versions built that this list replaces (a compound index now leads with the same key) or no
 * longer needs: `ensureIndexes` drops them, so writes stop paying for them.
 */
export const RETIRED_INDEXES: readonly { collection: string; name: string }[] = [
  { collection: 'runs', name: 'status_1' },
  { collection: 'runs', name: 'workflow_1' },
  // Superseded by the console's (createdAt, _id) indexes, which serve the same queries (issue 12).
  { collection: 'runs', name: 'workflow_1_createdAt_1' },
  { collection: 'runs', name: 'createdAt_1' },
  { collection: 'steps', name: 'status_1' },
  { collection: 'steps', name: 'wakeAt_1' },
  { collection: 'checkpoints', name: 'status_1' },
  { collection: 'events', name: 'key_1' },
  { collection: 'checkpoint_audit', name: 'checkpointId_1' },
  { collection: 'checkpoint_audit', name: 'runId_1' },
  { collection: 'email_messages', name: 'threadKey_1' },
  { collection: 'email_messages', name: 'runId_1' },
  { collection: 'email_threads', name: 'customer_1' },
  { collection: 'email_suppressed', name: 'runId_1' },
];

/** The driver's own naming (`status_1_updatedAt_1`), so an index built by an earlier version is recognised. */
export const indexName = (keys: IndexKeys): string =>
  Object.entries(keys)
    .map(([k, d]) => `${k}_${d}`)
    .join('_');

/** MongoDB and FerretDB: NamespaceNotFound (a collection not created yet has no indexes). */
const NAMESPACE_NOT_FOUND = 26;

async function indexNames(collection: mongo.Collection): Promise<Set<string>> {
  try {
    return new Set((await collection.indexes()).map((i) => String(i.name)));
  } catch (err) {
    if ((err as { code?: unknown }).code === NAMESPACE_NOT_FOUND) return new Set();
    throw err;
  }
}

/**
 * Builds the indexes of `specs` that are missing and drops the retired ones still there: one `listIndexes` per
 * collection when nothing changed. Run once at startup, before the app serves. One `createIndex` per index:
 * FerretDB 1.24 closes the connection on a `createIndexes` naming several indexes when they already exist, which
 * two processes starting together would send.
 */
export async function ensureIndexes(db: mongo.Db, specs: readonly IndexSpec[] = INDEXES): Promise<void> {
  const byCollection = new Map<string, IndexSpec[]>();
  for (const s of specs) byCollection.set(s.collection, [...(byCollection.get(s.collection) ?? []), s]);
  for (const [name, list] of byCollection) {
    const collection = db.collection(name);
    const existing = await indexNames(collection);
    for (const s of list) {
      const index = indexName(s.keys);
      if (!existing.has(index))
        await collection.createIndex({ ...s.keys }, { name: index, ...(s.unique ? { unique: true } : {}) });
    }
    for (const r of RETIRED_INDEXES) {
      if (r.collection === name && existing.has(r.name)) await collection.dropIndex(r.name);
    }
  }
}

/** The indexes the modules declare for their own collections (`UseCaseModule.indexes`). */
export const moduleIndexes = (modules: readonly { indexes?: readonly IndexSpec[] | undefined }[]): IndexSpec[] =>
  modules.flatMap((m) => m.indexes ?? []);
