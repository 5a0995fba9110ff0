import type {
  AuditDoc,
  CheckpointDoc,
  EventDoc,
  ModelCallDoc,
  RunDoc,
  RunStatus,
  StepDoc,
  StoredError,
  ToolCallDoc,
  Usage,
} from '../store/models.js';

/**
 * The engine's store port: everything the engine reads and writes, in the shapes it needs, so the engine never
 * touches a driver and each operation's request count is visible here. One implementation (src/store/
 * engine-store.ts, on mongoose) serves MongoDB and FerretDB; `test/engine-store.contract.test.ts` is what any
 * other implementation must pass.
 *
 * The journal of a run lives in `steps`, as append-only records wherever a second writer is possible:
 * - `<run>/#start`: what the run was started with, written with the run, so a pass reads one collection;
 * - `<run>/<step>`: a step as first dispatched (then updated only by the pass holding the run's lease);
 * - `<run>/<step>#end`: the step's end, a unique insert, so whoever ends a step (an agent job, an event, the pass)
 *   ends it once, even where conditional updates are not atomic (FerretDB);
 * - `<run>/<step>#try-<n>`: a failed attempt of an agent step (its error), for people reading the run;
 * - `<run>/#pass-<gen>` and `<run>/#pass-<gen>#end`: the run's lease, taken by inserting the next generation and
 *   released by inserting its end, together with the pass's other records, in one request;
 * - `<run>/#claim-cancel` and `<run>/#claim-retry-<step>-<k>`: a person cancelled the run, or tried a failed step
 *   again (its k-th retry); the retried step's end and failed attempts then carry `retry: k` and are recorded as
 *   `<run>/<step>#end-r<k>` and `<run>/<step>#try-r<k>-<n>`, so each generation's end is a unique insert of its own.
 */

export interface RunStart {
  workflow: string;
  input: unknown;
  createdAt: Date;
}

/** How a step ended: what the pass folds over the step as dispatched. */
export interface CallLogs {
  modelCalls: ModelCallDoc[];
  toolCalls: ToolCallDoc[];
}

export interface StepEnd {
  status: 'completed' | 'failed';
  /** An agent step's model and tool call logs, each with its `_id`: the next pass copies them to their collections. */
  calls?: CallLogs;
  result?: unknown;
  error?: StoredError;
  usage?: Usage;
  attempts?: number;
  startedAt?: Date;
  finishedAt: Date;
  /** An agent step's version (src/agents/version.ts) as this worker ran it: folded onto the step like the rest. */
  agentVersion?: string;
}

export interface Wakeup {
  runId: string;
  stepId: string;
  /** The pass job's tag (`wake-<step>`, `retry-<step>-<attempt>`). */
  tag: string;
  wakeAt: Date;
}

export interface PassRecord {
  gen: number;
  owner: string;
  until: Date;
  /** The pass ended and let go of the run. */
  released: boolean;
  /** The run's status the pass recorded when it ended. */
  status?: RunStatus;
  /** Steps whose end the pass had seen (and whose call logs it copied). */
  seenEnds?: string[];
}

/** Who cancelled a run (its `cancel` claim). */
export interface Cancellation {
  actor: string;
  at: Date;
  reason?: string;
}

/** A run's journal as a pass sees it: each step with its end folded in. */
export interface Journal {
  runId: string;
  start: RunStart | null;
  steps: Map<string, StepDoc>;
  /** Steps whose end record exists (folded into `steps`). */
  ended: Set<string>;
  /** Call logs carried by ends (agent steps). */
  calls: Map<string, CallLogs>;
  /** Inline steps a pass took the lease for and died in (its lease never released): tries the journal lacks. */
  crashes: Map<string, number>;
  lastPass: PassRecord | null;
  /** The run's cancellation, once recorded: a pass then dispatches nothing and ends the run `cancelled`. */
  cancelled?: Cancellation | null;
  /**
   * The retry generation of each step a person retried (its newest retry claim). Ends and attempts of earlier
   * generations are void for the replay (their failures stay on the step as `retries`).
   */
  retries?: Map<string, number>;
  /** Retried steps no pass has run or dispatched again yet: shown as queued, they run anew in the next replay. */
  rerun?: Set<string>;
  /**
   * The ends of retried steps' earlier generations: void for the replay, but what they spent was spent and their
   * calls were made, so the run's usage and its page count them.
   */
  replaced?: ReplacedEnd[];
}

/** An end of a step generation a person retried (Journal.replaced). */
export interface ReplacedEnd {
  stepId: string;
  retry: number;
  usage?: Partial<Usage>;
  calls?: CallLogs;
}

/** What a pass may set on a step; `null` clears what an earlier run of a retried step left. */
export type StepFields = Omit<Partial<StepDoc>, 'error' | 'startedAt' | 'finishedAt'> & {
  error?: StoredError | null;
  startedAt?: Date | null;
  finishedAt?: Date | null;
};

/** One record of a pass's batched write. */
export type JournalRecord =
  | { kind: 'start'; runId: string; start: RunStart }
  | { kind: 'step'; doc: StepDoc }
  /** `retry`: the retry generation the end belongs to (absent: the step's first run). */
  | { kind: 'end'; runId: string; stepId: string; end: StepEnd; retry?: number }
  | { kind: 'attempt'; runId: string; stepId: string; attempt: number; error: StoredError; retry?: number }
  | { kind: 'lease'; runId: string; gen: number; owner: string; until: Date }
  /** "Exactly one of us" for something of this run (a checkpoint's next version), with what the winner will write. */
  | { kind: 'claim'; runId: string; key: string; at: Date; intent: unknown }
  | { kind: 'release'; runId: string; gen: number; status: RunStatus; at: Date; seenEnds: string[] };

export interface RunQuery {
  statuses?: RunStatus[];
  workflow?: string;
  limit: number;
}

export interface EngineStore {
  // Runs
  /** Inserts the run and its start record; false when a run with this id exists (its start record is then ensured). */
  createRun(run: RunDoc): Promise<boolean>;
  getRun(runId: string): Promise<RunDoc | null>;
  /** The run document's summary (status, output, error, usage so far): written by the pass holding the lease. */
  setRun(
    runId: string,
    fields: Partial<Pick<RunDoc, 'status' | 'output' | 'usage' | 'updatedAt'>> & { error?: RunDoc['error'] | null },
  ): Promise<void>;
  findRuns(query: RunQuery): Promise<RunDoc[]>;
  /** Runs in one of `statuses`, oldest id first after `afterId`, at most `limit` (the reconciler pages). */
  runsInStatus(statuses: RunStatus[], afterId: string, limit: number): Promise<RunDoc[]>;
  /** Claims an idempotency key for `runId`; returns the run id that owns the key (ours or an earlier one). */
  claimIdempotencyKey(key: string, runId: string, at: Date): Promise<string>;

  // Journal
  loadJournal(runId: string): Promise<Journal>;
  loadJournals(runIds: string[]): Promise<Map<string, Journal>>;
  /**
   * Takes lease generation `gen` (a unique insert): true for exactly one caller per generation. `step`: the inline
   * step the lease is taken for, counted as a try of it should the pass die (Journal.crashes).
   */
  takeLease(runId: string, gen: number, owner: string, until: Date, step?: string): Promise<boolean>;
  /** Extends the holder's lease (only the holder writes its pass record). */
  renewLease(runId: string, gen: number, until: Date): Promise<void>;
  /**
   * Writes records in one request. Each result is true when inserted, false when it existed already (a step or end
   * recorded first by someone else): for ends, the first writer won. `ordered`: stop at the first record refused
   * (a pass whose lease record is refused writes nothing).
   */
  append(records: JournalRecord[], options?: { ordered?: boolean }): Promise<boolean[]>;
  /** Updates a step as dispatched: only the pass holding the run's lease does this. */
  updateStep(runId: string, stepId: string, fields: StepFields): Promise<void>;
  /** The end of one step, if recorded. */
  stepEnd(runId: string, stepId: string): Promise<StepEnd | null>;
  /** Which of these steps have ended, as `<run>/<step>` (one request, across runs). */
  endedSteps(steps: { runId: string; stepId: string }[]): Promise<Set<string>>;
  /** Event waits dispatched for this name and key (ended or not: the caller's end insert decides). */
  eventWaits(name: string, key: string): Promise<StepDoc[]>;
  /**
   * Records that step `stepId` of the run must wake by `wakeAt` through the pass job `tag` (replacing its earlier
   * wake-up). Wake-ups live in a small collection of their own, so the reconciler's look for what is due reads only
   * timers still set, not the journal (on the embedded store every such query scans its collection).
   */
  setWakeup(wakeup: Wakeup): Promise<void>;
  /** Wake-ups due at or before `until`, soonest first. */
  dueWakeups(until: Date, limit: number): Promise<Wakeup[]>;
  /** Forgets wake-ups whose step no longer waits. */
  dropWakeups(keys: { runId: string; stepId: string }[]): Promise<void>;

  // Checkpoints
  getCheckpoint(id: string): Promise<CheckpointDoc | null>;
  checkpointsOf(runIds: string[]): Promise<CheckpointDoc[]>;
  getCheckpoints(ids: string[]): Promise<CheckpointDoc[]>;
  /** Inserts a checkpoint; false when it exists (a replayed pass creating it again). */
  insertCheckpoint(doc: CheckpointDoc): Promise<boolean>;
  /** Applies a checkpoint write whose version the caller claimed (see checkpoint-write.ts). */
  setCheckpoint(id: string, set: Record<string, unknown>): Promise<void>;
  listCheckpoints(filter: { status?: string; decidedSince?: Date; limit: number }): Promise<CheckpointDoc[]>;
  /** Pending checkpoints whose next reminder or timeout is due by `now`. */
  dueCheckpoints(now: Date, limit: number): Promise<CheckpointDoc[]>;
  /** Checkpoints decided in [since, before), oldest first after `afterId` (the reconciler pages). */
  decidedCheckpoints(since: Date, before: Date, afterId: string, limit: number): Promise<CheckpointDoc[]>;
  /** Checkpoints still pending that were created in [since, before), after `afterId` (the reconciler pages). */
  pendingCheckpoints(since: Date, before: Date, afterId: string, limit: number): Promise<CheckpointDoc[]>;

  // Claims: "exactly one of us" on any store (a unique insert)
  claim(key: string, at: Date, intent?: unknown): Promise<boolean>;
  /** A claim recorded in a run's journal (JournalRecord `claim`), with its intent. */
  journalClaim(runId: string, key: string): Promise<{ at: Date; intent?: unknown } | null>;
  /** Which of these journal claims exist, as `runId/key`, in one request. */
  journalClaimsHeld(claims: readonly { runId: string; key: string }[]): Promise<Set<string>>;

  // Events
  insertEvent(doc: EventDoc): Promise<void>;
  /** The oldest event of this name and key since `since` that none of `taken` is. */
  firstEvent(name: string, key: string, since: Date, taken: string[]): Promise<EventDoc | null>;

  // Reading runs for people
  auditOf(runIds: string[]): Promise<AuditDoc[]>;

  /** Agent call logs; each has its `_id`, so writing one twice changes nothing. */
  insertCallLogs(logs: CallLogs): Promise<void>;

  // Housekeeping
  /** Deletes claims taken before `before`; returns how many. */
  sweepClaims(before: Date): Promise<number>;
  /**
   * Deletes the bookkeeping (lease, release, attempt and claim records) of runs that finished before `before`, keeping
   * their steps and ends; returns how many runs were compacted.
   */
  compactFinishedRuns(before: Date, limit: number): Promise<number>;
}
