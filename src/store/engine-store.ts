import type { mongo } from 'mongoose';
import { isDuplicateKey } from '../duplicate-key.js';
import type {
  CallLogs,
  Cancellation,
  EngineStore,
  Journal,
  JournalRecord,
  PassRecord,
  ReplacedEnd,
  RunStart,
  StepEnd,
  Wakeup,
} from '../engine/store-port.js';
import type {
  AuditDoc,
  CheckpointDoc,
  EventDoc,
  ModelCallDoc,
  RunDoc,
  RunStatus,
  StepDoc,
  StepRetry,
  Store,
  ToolCallDoc,
} from './models.js';

/** A document of the `steps` collection: a step as dispatched, or one of the journal's records (see store-port.ts). */
interface JournalDoc {
  _id: string;
  runId: string;
  kind: string;
  stepId?: string;
  [field: string]: unknown;
}

const TERMINAL: RunStatus[] = ['completed', 'failed', 'cancelled'];

const startId = (runId: string) => `${runId}/#start`;
const endId = (runId: string, stepId: string, retry = 0) => `${runId}/${stepId}#end${retry ? `-r${retry}` : ''}`;
const passId = (runId: string, gen: number) => `${runId}/#pass-${gen}`;
const claimId = (runId: string, key: string) => `${runId}/#claim-${key}`;
/** A person's retry of a step (`retry-<step>-<k>`, see src/engine/run-actions.ts). */
const RETRY_KEY = /^retry-(.+)-(\d+)$/;
const PEOPLES_CLAIM = /^(cancel$|retry-)/;

function recordDoc(record: JournalRecord): JournalDoc {
  switch (record.kind) {
    case 'start':
      return { _id: startId(record.runId), runId: record.runId, kind: 'start', ...record.start };
    case 'step':
      return record.doc as unknown as JournalDoc;
    case 'end':
      return {
        _id: endId(record.runId, record.stepId, record.retry),
        runId: record.runId,
        kind: 'end',
        stepId: record.stepId,
        ...record.end,
        ...(record.retry ? { retry: record.retry } : {}),
      };
    case 'attempt':
      return {
        _id: `${record.runId}/${record.stepId}#try-${record.retry ? `r${record.retry}-` : ''}${record.attempt}`,
        runId: record.runId,
        kind: 'attempt',
        stepId: record.stepId,
        attempt: record.attempt,
        error: record.error,
        ...(record.retry ? { retry: record.retry } : {}),
      };
    case 'lease':
      return {
        _id: passId(record.runId, record.gen),
        runId: record.runId,
        kind: 'pass',
        gen: record.gen,
        owner: record.owner,
        until: record.until,
      };
    case 'claim':
      return {
        _id: claimId(record.runId, record.key),
        runId: record.runId,
        kind: 'claim',
        key: record.key,
        at: record.at,
        intent: record.intent,
        // What a person did to the run outlives compaction: the run's history shows it.
        ...(PEOPLES_CLAIM.test(record.key) ? { person: true } : {}),
      };
    case 'release':
      return {
        _id: `${passId(record.runId, record.gen)}#end`,
        runId: record.runId,
        kind: 'pass-end',
        gen: record.gen,
        status: record.status,
        at: record.at,
        seenEnds: record.seenEnds,
      };
  }
}

/** The end as folded over its step: its call logs are kept apart (Journal.calls), not on the step. */
function endOf(doc: JournalDoc): StepEnd {
  const { status, result, error, usage, attempts, startedAt, finishedAt, agentVersion } = doc as unknown as StepEnd;
  return {
    status,
    finishedAt,
    ...(result !== undefined ? { result } : {}),
    ...(error ? { error } : {}),
    ...(usage ? { usage } : {}),
    ...(attempts !== undefined ? { attempts } : {}),
    ...(startedAt ? { startedAt } : {}),
    ...(agentVersion ? { agentVersion } : {}),
  };
}

/** A claim's key: stored on the claim since retries and cancellation, else read back from its id. */
function claimKey(runId: string, doc: JournalDoc): string {
  return typeof doc.key === 'string' ? doc.key : String(doc._id).slice(claimId(runId, '').length);
}

function cancellationOf(doc: JournalDoc): Cancellation {
  const intent = (doc.intent ?? {}) as { actor?: unknown; reason?: unknown; at?: unknown };
  return {
    actor: String(intent.actor ?? 'unknown'),
    at: (intent.at as Date | undefined) ?? (doc.at as Date),
    ...(typeof intent.reason === 'string' && intent.reason ? { reason: intent.reason } : {}),
  };
}

function retryOf(key: string, doc: JournalDoc): { stepId: string; retry: StepRetry } | null {
  const match = RETRY_KEY.exec(key);
  if (!match) return null;
  const intent = (doc.intent ?? {}) as Partial<StepRetry> & { stepId?: string };
  return {
    stepId: intent.stepId ?? String(match[1]),
    retry: {
      retry: Number(match[2]),
      actor: String(intent.actor ?? 'unknown'),
      at: (intent.at as Date | undefined) ?? (doc.at as Date),
      ...(intent.reason ? { reason: intent.reason } : {}),
      failed: intent.failed ?? { error: null, attempts: 0, finishedAt: null },
    },
  };
}

const generationOf = (doc: JournalDoc) => Number(doc.retry ?? 0);

/** A retried step as the replay must see it until a pass runs it again: not done, nothing recorded. */
function freshRun(doc: StepDoc, retry: number): StepDoc {
  const { result: _result, error: _error, wakeAt: _wakeAt, startedAt: _started, finishedAt: _finished, ...rest } = doc;
  return { ...rest, status: 'queued', attempts: 0, retry };
}

/**
 * Folds a run's documents into its journal: ends over steps, the newest lease, the start, and what people did to
 * the run (its cancellation; retries, under which only the newest generation's end and attempts count).
 */
function fold(runId: string, docs: JournalDoc[]): Journal {
  const steps = new Map<string, StepDoc>();
  const ends = new Map<string, StepEnd>();
  const errors = new Map<string, { attempt: number; error: unknown }>();
  const endDocs: JournalDoc[] = [];
  const attemptDocs: JournalDoc[] = [];
  const history = new Map<string, StepRetry[]>();
  let cancelled: Cancellation | null = null;
  const passes = new Map<number, PassRecord>();
  const released = new Map<number, { status?: RunStatus; seenEnds?: string[] }>();
  const calls = new Map<string, CallLogs>();
  const leaseSteps = new Map<number, string>();
  let start: RunStart | null = null;
  for (const doc of docs) {
    switch (doc.kind) {
      case 'start':
        start = { workflow: String(doc.workflow), input: doc.input, createdAt: doc.createdAt as Date };
        break;
      case 'end':
        endDocs.push(doc);
        break;
      case 'attempt':
        attemptDocs.push(doc);
        break;
      case 'pass':
        passes.set(Number(doc.gen), {
          gen: Number(doc.gen),
          owner: String(doc.owner),
          until: doc.until as Date,
          released: false,
        });
        if (typeof doc.step === 'string') leaseSteps.set(Number(doc.gen), doc.step);
        break;
      case 'claim': {
        const key = claimKey(runId, doc);
        if (key === 'cancel') {
          cancelled = cancellationOf(doc);
          break;
        }
        const retried = retryOf(key, doc);
        if (retried) history.set(retried.stepId, [...(history.get(retried.stepId) ?? []), retried.retry]);
        break;
      }
      case 'pass-end':
        released.set(Number(doc.gen), {
          ...(doc.status ? { status: doc.status as RunStatus } : {}),
          ...(Array.isArray(doc.seenEnds) ? { seenEnds: doc.seenEnds as string[] } : {}),
        });
        break;
      default:
        steps.set(String(doc.stepId), doc as unknown as StepDoc);
    }
  }
  const retries = new Map<string, number>();
  for (const [stepId, list] of history) {
    list.sort((a, b) => a.retry - b.retry);
    retries.set(stepId, list[list.length - 1]?.retry ?? 0);
  }
  // Ends of a retried step's earlier generations are void for the replay (failed ends: their calls are logged).
  const replaced: ReplacedEnd[] = [];
  for (const doc of endDocs) {
    const stepId = String(doc.stepId);
    if (generationOf(doc) !== (retries.get(stepId) ?? 0)) {
      const { usage } = endOf(doc);
      replaced.push({
        stepId,
        retry: generationOf(doc),
        ...(usage ? { usage } : {}),
        ...(doc.calls ? { calls: doc.calls as CallLogs } : {}),
      });
      continue;
    }
    ends.set(stepId, endOf(doc));
    if (doc.calls) calls.set(stepId, doc.calls as CallLogs);
  }
  for (const doc of attemptDocs) {
    const stepId = String(doc.stepId);
    if (generationOf(doc) !== (retries.get(stepId) ?? 0)) continue;
    const seen = errors.get(stepId);
    if (!seen || seen.attempt < Number(doc.attempt))
      errors.set(stepId, { attempt: Number(doc.attempt), error: doc.error });
  }
  const rerun = new Set<string>();
  for (const [stepId, retry] of retries) {
    const step = steps.get(stepId);
    if (!step) continue;
    const stale = (step.retry ?? 0) < retry;
    if (stale) rerun.add(stepId);
    steps.set(stepId, { ...(stale ? freshRun(step, retry) : step), retries: history.get(stepId) ?? [] });
  }
  for (const [stepId, tried] of errors) {
    const step = steps.get(stepId);
    if (step && !ends.has(stepId))
      steps.set(stepId, { ...step, error: tried.error as StepDoc['error'], attempts: tried.attempt });
  }
  for (const [stepId, end] of ends) {
    const step = steps.get(stepId);
    if (step) steps.set(stepId, { ...step, ...end, updatedAt: end.finishedAt });
  }
  let lastPass: PassRecord | null = null;
  for (const gen of [...passes.keys(), ...released.keys()]) {
    if (lastPass && lastPass.gen >= gen) continue;
    const pass = passes.get(gen) ?? { gen, owner: '', until: new Date(0), released: true };
    const release = released.get(gen);
    lastPass = release ? { ...pass, released: true, ...release } : pass;
  }
  // A generation that never released and is not the one in force died: its step was tried once more than recorded.
  const crashes = new Map<string, number>();
  for (const [gen, step] of leaseSteps) {
    if (released.has(gen)) continue;
    if (gen === lastPass?.gen && lastPass.until.getTime() > Date.now()) continue;
    crashes.set(step, (crashes.get(step) ?? 0) + 1);
  }
  return {
    runId,
    start,
    steps,
    ended: new Set(ends.keys()),
    calls,
    crashes,
    lastPass,
    cancelled,
    retries,
    rerun,
    replaced,
  };
}

/** Inserts documents unordered; true per document inserted, false where a unique `_id` refused it. */
async function insertAll<T extends { _id: unknown }>(
  collection: mongo.Collection<T>,
  docs: T[],
  ordered = false,
): Promise<boolean[]> {
  if (docs.length === 0) return [];
  const inserted = docs.map(() => true);
  try {
    await collection.insertMany(docs as mongo.OptionalUnlessRequiredId<T>[], { ordered });
  } catch (err) {
    const writeErrors = (err as { writeErrors?: { index: number; code?: number; err?: { code?: number } }[] })
      .writeErrors;
    const list = Array.isArray(writeErrors) ? writeErrors : writeErrors ? [writeErrors] : [];
    if (list.length === 0 && !isDuplicateKey(err)) throw err;
    if (list.length === 0) return docs.map(() => false);
    for (const e of list) {
      if ((e.code ?? e.err?.code) !== 11000) throw err;
      inserted[e.index] = false;
    }
    // An ordered insert stops at the first refusal: nothing after it was written.
    if (ordered) {
      const first = Math.min(...list.map((e) => e.index));
      for (let i = first; i < inserted.length; i++) inserted[i] = false;
    }
  }
  return inserted;
}

/** The engine's store on mongoose: MongoDB in production, FerretDB in tests and demos. */
export function createEngineStore(store: Store): EngineStore {
  const db = store.connection.db;
  if (!db) throw new Error('the store is not connected');
  const journal = db.collection<JournalDoc>('steps');
  const wakeups = db.collection<Wakeup & { _id: string }>('wakeups');

  async function insertOne<T extends { _id: string }>(collection: mongo.Collection<T>, doc: T): Promise<boolean> {
    try {
      await collection.insertOne(doc as mongo.OptionalUnlessRequiredId<T>);
      return true;
    } catch (err) {
      if (isDuplicateKey(err)) return false;
      throw err;
    }
  }

  return {
    async createRun(run) {
      const created = await insertOne(db.collection<RunDoc>('runs'), run);
      // The start record says what the run document says: a delivery that lost the race must not write its own input.
      const stored = created ? run : ((await store.runs.findById(run._id).lean<RunDoc>().exec()) ?? run);
      const start: JournalRecord = {
        kind: 'start',
        runId: run._id,
        start: { workflow: stored.workflow, input: stored.input, createdAt: stored.createdAt },
      };
      await insertAll(journal, [recordDoc(start)]);
      return created;
    },
    getRun: (runId) => store.runs.findById(runId).lean<RunDoc>().exec(),
    async setRun(runId, fields) {
      await store.runs.updateOne({ _id: runId }, { $set: fields });
    },
    findRuns(query) {
      const filter: Record<string, unknown> = {};
      if (query.statuses) filter.status = { $in: query.statuses };
      if (query.workflow) filter.workflow = query.workflow;
      return store.runs.find(filter).sort({ createdAt: -1 }).limit(query.limit).lean<RunDoc[]>().exec();
    },
    runsInStatus(statuses, afterId, limit) {
      return store.runs
        .find({ status: { $in: statuses }, _id: { $gt: afterId } })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<RunDoc[]>()
        .exec();
    },
    async claimIdempotencyKey(key, runId, at) {
      if (
        await insertOne(db.collection<{ _id: string; runId: string; createdAt: Date }>('idempotency'), {
          _id: key,
          runId,
          createdAt: at,
        })
      )
        return runId;
      const existing = await store.idempotency.findById(key).lean();
      if (!existing) throw new Error(`idempotency key ${key} vanished`);
      return existing.runId;
    },

    async loadJournal(runId) {
      return fold(runId, await journal.find({ runId }).toArray());
    },
    async loadJournals(runIds) {
      const docs = await journal.find({ runId: { $in: runIds } }).toArray();
      const byRun = new Map<string, JournalDoc[]>(runIds.map((id) => [id, []]));
      for (const d of docs) byRun.get(d.runId)?.push(d);
      return new Map([...byRun].map(([id, list]) => [id, fold(id, list)]));
    },
    takeLease(runId, gen, owner, until, step) {
      return insertOne(journal, {
        _id: passId(runId, gen),
        runId,
        kind: 'pass',
        gen,
        owner,
        until,
        at: new Date(),
        ...(step ? { step } : {}),
      });
    },
    async renewLease(runId, gen, until) {
      await journal.updateOne({ _id: passId(runId, gen) }, { $set: { until } });
    },
    append: (records, options) => insertAll(journal, records.map(recordDoc), options?.ordered ?? false),
    async updateStep(runId, stepId, fields) {
      await journal.updateOne({ _id: `${runId}/${stepId}` }, { $set: { ...fields, updatedAt: new Date() } });
    },
    async stepEnd(runId, stepId) {
      const doc = await journal.findOne({ _id: endId(runId, stepId) });
      return doc ? endOf(doc) : null;
    },
    async endedSteps(steps) {
      if (steps.length === 0) return new Set();
      const docs = await journal
        .find({ _id: { $in: steps.map((s) => endId(s.runId, s.stepId)) } }, { projection: { runId: 1, stepId: 1 } })
        .toArray();
      return new Set(docs.map((d) => `${d.runId}/${d.stepId}`));
    },
    async eventWaits(name, key) {
      const docs = await journal.find({ 'event.name': name, 'event.key': key, kind: 'event' }).toArray();
      return docs as unknown as StepDoc[];
    },
    async setWakeup(w) {
      await wakeups.replaceOne({ _id: `${w.runId}/${w.stepId}` }, { ...w }, { upsert: true });
    },
    async dueWakeups(until, limit) {
      const docs = await wakeups
        .find({ wakeAt: { $lte: until } })
        .sort({ wakeAt: 1 })
        .limit(limit)
        .toArray();
      return docs.map(({ runId, stepId, tag, wakeAt }) => ({ runId, stepId, tag, wakeAt }));
    },
    async dropWakeups(keys) {
      if (keys.length === 0) return;
      await wakeups.deleteMany({ _id: { $in: keys.map((k) => `${k.runId}/${k.stepId}`) } });
    },

    getCheckpoint: (id) => store.checkpoints.findById(id).lean<CheckpointDoc>().exec(),
    checkpointsOf: (runIds) =>
      store.checkpoints
        .find({ runId: { $in: runIds } })
        .lean<CheckpointDoc[]>()
        .exec(),
    getCheckpoints: (ids) =>
      store.checkpoints
        .find({ _id: { $in: ids } })
        .lean<CheckpointDoc[]>()
        .exec(),
    insertCheckpoint: (doc) => insertOne(db.collection<CheckpointDoc>('checkpoints'), doc),
    async setCheckpoint(id, set) {
      await store.checkpoints.updateOne({ _id: id }, { $set: set });
    },
    listCheckpoints(filter) {
      const query: Record<string, unknown> = {};
      if (filter.status) query.status = filter.status;
      if (filter.decidedSince) {
        // Only decided checkpoints have a decision: saying so lets the {status, decision.decidedAt} index serve it.
        query['decision.decidedAt'] = { $gte: filter.decidedSince };
        query.status ??= { $in: ['approved', 'rejected'] };
      }
      return store.checkpoints.find(query).sort({ createdAt: -1 }).limit(filter.limit).lean<CheckpointDoc[]>().exec();
    },
    dueCheckpoints(now, limit) {
      return store.checkpoints
        .find({ 'timers.dueAt': { $lte: now }, status: 'pending' })
        .sort({ 'timers.dueAt': 1 })
        .limit(limit)
        .lean<CheckpointDoc[]>()
        .exec();
    },
    decidedCheckpoints(since, before, afterId, limit) {
      return store.checkpoints
        .find({
          status: { $in: ['approved', 'rejected'] },
          'decision.decidedAt': { $gte: since, $lt: before },
          _id: { $gt: afterId },
        })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<CheckpointDoc[]>()
        .exec();
    },

    pendingCheckpoints(since, before, afterId, limit) {
      return store.checkpoints
        .find({ status: 'pending', createdAt: { $gte: since, $lt: before }, _id: { $gt: afterId } })
        .sort({ _id: 1 })
        .limit(limit)
        .lean<CheckpointDoc[]>()
        .exec();
    },

    claim: (key, at, intent) =>
      insertOne(db.collection<{ _id: string; at: Date; intent?: unknown }>('claims'), {
        _id: key,
        at,
        ...(intent === undefined ? {} : { intent }),
      }),
    async journalClaim(runId, key) {
      const doc = await journal.findOne({ _id: claimId(runId, key) });
      return doc ? { at: doc.at as Date, ...(doc.intent === undefined ? {} : { intent: doc.intent }) } : null;
    },

    async journalClaimsHeld(claims) {
      if (claims.length === 0) return new Set();
      const ids = new Map(claims.map((c) => [claimId(c.runId, c.key), `${c.runId}/${c.key}`]));
      const docs = await journal.find({ _id: { $in: [...ids.keys()] } }, { projection: { _id: 1 } }).toArray();
      return new Set(docs.flatMap((d) => ids.get(String(d._id)) ?? []));
    },

    async insertEvent(doc) {
      await store.events.create(doc);
    },
    firstEvent(name, key, since, taken) {
      return store.events
        .findOne({ name, key, createdAt: { $gte: since }, _id: { $nin: taken } })
        .sort({ createdAt: 1 })
        .lean<EventDoc>()
        .exec();
    },

    auditOf: (runIds) =>
      store.audit
        .find({ runId: { $in: runIds } })
        .sort({ at: 1 })
        .lean<AuditDoc[]>()
        .exec(),

    async insertCallLogs({ modelCalls, toolCalls }) {
      await Promise.all([
        insertAll(
          db.collection<ModelCallDoc & { _id: unknown }>('model_calls'),
          modelCalls as (ModelCallDoc & { _id: unknown })[],
        ),
        insertAll(
          db.collection<ToolCallDoc & { _id: unknown }>('tool_calls'),
          toolCalls as (ToolCallDoc & { _id: unknown })[],
        ),
      ]);
    },

    async sweepClaims(before) {
      const res = await store.claims.deleteMany({ at: { $lt: before } });
      return res.deletedCount;
    },
    async compactFinishedRuns(before, limit) {
      const runs = await store.runs
        .find({ status: { $in: TERMINAL }, updatedAt: { $lt: before }, compactedAt: null }, { _id: 1 })
        .limit(limit)
        .lean<Pick<RunDoc, '_id'>[]>();
      if (runs.length === 0) return 0;
      const ids = runs.map((r) => r._id);
      await journal.deleteMany({
        runId: { $in: ids },
        $or: [{ kind: { $in: ['pass', 'pass-end', 'attempt'] } }, { kind: 'claim', person: { $ne: true } }],
      });
      await store.runs.updateMany({ _id: { $in: ids } }, { $set: { compactedAt: new Date() } });
      return ids.length;
    },
  };
}
