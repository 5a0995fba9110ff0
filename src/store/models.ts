import mongoose, { type Connection, Schema } from 'mongoose';
import { ensureIndexes as buildIndexes, INDEXES, type IndexSpec } from './indexes.js';

/**
 * MongoDB is the source of truth; Redis only schedules. Every document carries a schema version `v` so that
 * older documents stay readable (test/fixtures holds frozen v1 documents).
 *
 * FerretDB 1.x compatibility (see docs/design.md): no transactions, TTL, sparse or partial indexes, `$lookup`,
 * `$facet`, projections on findOneAndUpdate, or `$group` beyond `$sum`. Atomicity comes from single-document
 * conditional updates and unique `_id`s.
 */
// v1: the first release. v2: checkpoints gained quorum, approvals, originalValues, timers, escalatedAt and Slack
// groups/channels among approvers; steps gained `event`. v1 documents lack those fields and stay readable
// (test/fixtures/v1, test/store-fixtures.test.ts).
export const SCHEMA_VERSION = 2;

export type RunStatus = 'queued' | 'running' | 'waiting' | 'completed' | 'failed' | 'cancelled';
export type StepKind = 'step' | 'agent' | 'checkpoint' | 'sleep' | 'event' | 'now' | 'id' | 'autonomy';
export type StepStatus = 'queued' | 'running' | 'waiting' | 'completed' | 'failed';
export type CheckpointStatus = 'pending' | 'approved' | 'rejected' | 'cancelled';

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
}
export const zeroUsage = (): Usage => ({ inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: 0 });

/** The sum of the steps' usage, cost rounded to a millionth of a dollar (what a run's summary shows). */
export function totalUsage(steps: Iterable<{ usage?: Partial<Usage> }>): Usage {
  const sum = zeroUsage();
  for (const s of steps) {
    sum.inputTokens += s.usage?.inputTokens ?? 0;
    sum.outputTokens += s.usage?.outputTokens ?? 0;
    sum.cachedTokens += s.usage?.cachedTokens ?? 0;
    sum.costUsd += s.usage?.costUsd ?? 0;
  }
  sum.costUsd = Math.round(sum.costUsd * 1e6) / 1e6;
  return sum;
}

export interface StoredError {
  message: string;
  code: string;
  at: Date;
}

export interface RunDoc {
  _id: string;
  v: number;
  workflow: string;
  status: RunStatus;
  input: unknown;
  output?: unknown;
  error?: StoredError;
  usage: Usage;
  source?: { channel: string; key?: string };
  createdAt: Date;
  updatedAt: Date;
  /** When the finished run's lease records were deleted (see EngineStore.compactFinishedRuns). */
  compactedAt?: Date | null;
}

export interface StepDoc {
  _id: string; // `${runId}/${stepId}`
  v: number;
  runId: string;
  stepId: string;
  kind: StepKind;
  /** Agent name for agent steps; shown in the API. */
  name: string;
  /** Agent steps: the version (src/agents/version.ts) of the agent that produced the result. */
  agentVersion?: string;
  status: StepStatus;
  attempts: number;
  input?: unknown;
  result?: unknown;
  error?: StoredError;
  usage: Usage;
  /** Order of first dispatch within the run. */
  seq: number;
  wakeAt?: Date | null;
  checkpointId?: string;
  /** For `event` steps: what the run waits for. */
  event?: { name: string; key: string };
  startedAt?: Date;
  finishedAt?: Date;
  createdAt: Date;
  updatedAt: Date;
  /** The retry generation the step was last dispatched or run in (a person's `retryStep`); absent: never retried. */
  retry?: number;
  /** Earlier failures a person retried, oldest first (from the journal's retry claims; not stored on the step). */
  retries?: StepRetry[];
}

/** A failed step a person tried again: who, when, and the failure it replaced. */
export interface StepRetry {
  retry: number;
  actor: string;
  at: Date;
  reason?: string;
  failed: { error: StoredError | null; attempts: number; finishedAt: Date | null };
}

export interface Decision {
  decision: 'approve' | 'reject';
  actor: string;
  channel: 'api' | 'link' | 'slack' | 'email' | 'console' | 'policy' | 'timeout';
  comment?: string;
  /** Only the fields a person changed, validated against the editable schema. */
  edits: Record<string, unknown>;
  /** Field-level before/after of what changed, for agreement statistics and evals. */
  diff: { field: string; before: unknown; after: unknown }[];
  decidedAt: Date;
  /** The approver a delegate decided for (engine.setDelegation); absent when the actor decided in their own right. */
  onBehalfOf?: string;
}

export interface Approvers {
  emails: string[];
  slackUsers: string[];
  slackGroups: string[];
  slackChannels: string[];
}

export interface Approval {
  actor: string;
  aliases: string[];
  channel: Decision['channel'];
  at: Date;
  comment?: string;
  diff: Decision['diff'];
  /** As on Decision: the approver this delegate approved for. */
  onBehalfOf?: string;
}

export type TimeoutAction = 'reject' | 'approve' | 'escalate' | 'keep-waiting';

/** When the engine nudges people about a checkpoint and what it does when nobody decides. */
export interface CheckpointTimers {
  remindEveryMs?: number;
  remindMax?: number;
  remindersSent: number;
  nextReminderAt?: Date | null;
  timeoutAt?: Date | null;
  timeoutAction?: TimeoutAction;
  timeoutFired: boolean;
  escalateTo?: Partial<Approvers>;
  /** The next reminder or timeout, whichever is sooner (null when none): what the reconciler queries. */
  dueAt?: Date | null;
}

/**
 * Stored with a checkpoint so the engine can compare the decision with the AI's proposal. `field` names the editable
 * field that carries the outcome; null compares the whole proposal (agreement = approved without edits).
 * `proposed` is the AI's own answer when it differs from the prefilled value; null means the AI proposed nothing
 * (it asked a person), so the decision is recorded but not compared.
 */
export interface CheckpointAgreement {
  field: string | null;
  agents: string[];
  proposed?: unknown;
  /** The proposal's confidence and the case's amount: with `proposed`, the slice the autonomy boundary counts. */
  confidence?: number | null;
  amount?: number | null;
}

export interface CheckpointDoc {
  _id: string;
  v: number;
  runId: string;
  stepId: string;
  workflow: string;
  name: string;
  status: CheckpointStatus;
  version: number;
  title: string;
  summary: string;
  /** What the AI found, section by section, for every channel to render. */
  evidence: { title: string; items: { label: string; value: string }[] }[];
  proposal: { outcome: string; confidence?: number; rationale?: string };
  /** JSON Schema (from zod) of the part a person may edit, and the proposed values. */
  editableSchema: Record<string, unknown>;
  values: Record<string, unknown>;
  approvers: Approvers;
  /** True when the workflow named nobody: APPROVER_EMAILS and members of SLACK_APPROVALS_CHANNEL decide. */
  defaultApprovers?: boolean;
  /** Approvals needed: 1 for `any`, every named approver for `all`, or a count. */
  quorum: { mode: 'any' | 'all' | 'count'; required: number };
  /** Approvals so far that did not reach the quorum yet. */
  approvals: Approval[];
  /** The proposal as the AI made it; `values` moves with edits made along partial approvals. */
  originalValues: Record<string, unknown>;
  timers: CheckpointTimers;
  escalatedAt?: Date | null;
  decision?: Decision;
  /** A reject needs a comment (the workflow's `requireRejectReason`). */
  requireRejectReason?: boolean;
  /** Delegates told about this checkpoint when it was created; the right to decide is checked live at decide time. */
  delegations?: CheckpointDelegation[];
  /** How the engine measures agreement with the AI when this checkpoint is decided (CheckpointSpec.agreement). */
  agreement?: CheckpointAgreement;
  /** Refused or stale attempts, kept for audit. */
  audit: { at: Date; actor: string; channel: string; outcome: string; detail?: string }[];
  createdAt: Date;
  updatedAt: Date;
}

/** A delegate added to a checkpoint's approvers so the channels tell them; `added` when they were not already listed. */
export interface CheckpointDelegation {
  approver: string;
  delegate: string;
  until: Date;
  added: boolean;
}

/** An approver who is away: until `until`, `delegate` may decide what the approver may decide, on their behalf. */
export interface DelegationDoc {
  _id: string; // the approver, lower-case (an email or a Slack user id)
  approver: string;
  delegate: string;
  until: Date;
  reason?: string;
  createdBy: string;
  createdAt: Date;
}

export interface IdempotencyDoc {
  _id: string; // `${scope}:${key}`
  runId: string;
  createdAt: Date;
}

/** A side effect (email, outbound call) keyed by run and step: `sending` before, `done` after. */
export interface EffectDoc {
  _id: string;
  v: number;
  kind: string;
  status: 'sending' | 'done';
  attempts: number;
  detail?: unknown;
  createdAt: Date;
  updatedAt: Date;
}

export interface ModelCallDoc {
  runId: string;
  stepId: string;
  agent: string;
  model: string;
  /** The configured model provider that served the call (`default` for OPENAI_* or the offline model). */
  provider?: string;
  /** How the answer was asked for: json_schema, json_object, tool_call or text (see src/agents/output-modes.ts). */
  outputMode?: string;
  turn: number;
  status: 'ok' | 'error';
  error?: string;
  /** Set on a call whose answer failed the agent's output schema: what was wrong, so the journal shows why. */
  outputIssues?: string;
  httpStatus?: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
  latencyMs: number;
  at: Date;
}

export interface ToolCallDoc {
  runId: string;
  stepId: string;
  agent: string;
  tool: string;
  arguments: unknown;
  outcome: 'ok' | 'error' | 'refused' | 'invalid_arguments';
  detail?: string;
  durationMs: number;
  at: Date;
}

/**
 * A claim: the first insert of a key wins. FerretDB 1.x applies a conditional update as a read followed by a write,
 * so two `findOneAndUpdate({ version: 3 })` calls can both succeed; a unique `_id` insert is atomic on FerretDB and
 * MongoDB alike. Every "exactly one of us" decision (a decision, a lease generation, a timer firing, a step's end)
 * is therefore a claim first and a plain update after.
 */
export interface ClaimDoc {
  _id: string;
  at: Date;
  /** What the claimer was about to write, so a claim whose writer died can be rolled forward. */
  intent?: unknown;
}

/** One audit line of a checkpoint: a refused or stale attempt, an escalation, a channel error. */
export interface AuditDoc {
  checkpointId: string;
  runId: string;
  at: Date;
  actor: string;
  channel: string;
  outcome: string;
  detail?: string;
}

/** An event sent to runs (a customer's reply, an external callback); kept so a wait that starts late still sees it. */
export interface EventDoc {
  _id: string;
  name: string;
  key: string;
  payload: unknown;
  createdAt: Date;
}

/** One person across channels: a Slack user id and an email address are the same actor. */
export interface IdentityDoc {
  _id: string; // email address, lower-case
  slackUserId?: string;
  name?: string;
  updatedAt: Date;
}

export interface UsedTokenDoc {
  _id: string; // token id (jti)
  checkpointId: string;
  recipient: string;
  usedAt: Date;
}

const mixed = Schema.Types.Mixed;
const usage = { inputTokens: Number, outputTokens: Number, cachedTokens: Number, costUsd: Number };
const errorShape = { message: String, code: String, at: Date };
const opts = { versionKey: false, minimize: false, strict: true } as const;

function defineModels(conn: Connection) {
  const runs = conn.model<RunDoc>(
    'Run',
    new Schema<RunDoc>(
      {
        _id: String,
        v: Number,
        workflow: String,
        status: String,
        input: mixed,
        output: mixed,
        error: errorShape,
        usage,
        source: { channel: String, key: String },
        createdAt: Date,
        updatedAt: Date,
        compactedAt: Date,
      },
      { ...opts, collection: 'runs' },
    ),
  );
  const steps = conn.model<StepDoc>(
    'Step',
    new Schema<StepDoc>(
      {
        _id: String,
        v: Number,
        runId: String,
        stepId: String,
        kind: String,
        name: String,
        agentVersion: String,
        status: String,
        attempts: Number,
        input: mixed,
        result: mixed,
        error: errorShape,
        usage,
        seq: Number,
        wakeAt: Date,
        checkpointId: String,
        event: { name: String, key: String },
        startedAt: Date,
        finishedAt: Date,
        createdAt: Date,
        updatedAt: Date,
      },
      { ...opts, collection: 'steps' },
    ),
  );
  const checkpoints = conn.model<CheckpointDoc>(
    'Checkpoint',
    new Schema<CheckpointDoc>(
      {
        _id: String,
        v: Number,
        runId: String,
        stepId: String,
        workflow: String,
        name: String,
        status: String,
        version: Number,
        title: String,
        summary: String,
        evidence: mixed,
        proposal: mixed,
        editableSchema: mixed,
        values: mixed,
        approvers: mixed,
        defaultApprovers: Boolean,
        quorum: mixed,
        approvals: mixed,
        originalValues: mixed,
        timers: mixed,
        escalatedAt: Date,
        decision: mixed,
        requireRejectReason: Boolean,
        delegations: mixed,
        agreement: mixed,
        audit: mixed,
        createdAt: Date,
        updatedAt: Date,
      },
      { ...opts, collection: 'checkpoints' },
    ),
  );
  const idempotency = conn.model<IdempotencyDoc>(
    'Idempotency',
    new Schema<IdempotencyDoc>({ _id: String, runId: String, createdAt: Date }, { ...opts, collection: 'idempotency' }),
  );
  const effects = conn.model<EffectDoc>(
    'Effect',
    new Schema<EffectDoc>(
      {
        _id: String,
        v: Number,
        kind: String,
        status: String,
        attempts: Number,
        detail: mixed,
        createdAt: Date,
        updatedAt: Date,
      },
      { ...opts, collection: 'effects' },
    ),
  );
  const modelCalls = conn.model<ModelCallDoc>(
    'ModelCall',
    new Schema<ModelCallDoc>(
      {
        runId: String,
        stepId: String,
        agent: String,
        model: String,
        provider: String,
        outputMode: String,
        turn: Number,
        status: String,
        error: String,
        outputIssues: String,
        httpStatus: Number,
        inputTokens: Number,
        outputTokens: Number,
        cachedTokens: Number,
        costUsd: Number,
        latencyMs: Number,
        at: Date,
      },
      { ...opts, collection: 'model_calls' },
    ),
  );
  const toolCalls = conn.model<ToolCallDoc>(
    'ToolCall',
    new Schema<ToolCallDoc>(
      {
        runId: String,
        stepId: String,
        agent: String,
        tool: String,
        arguments: mixed,
        outcome: String,
        detail: String,
        durationMs: Number,
        at: Date,
      },
      { ...opts, collection: 'tool_calls' },
    ),
  );
  const usedTokens = conn.model<UsedTokenDoc>(
    'UsedToken',
    new Schema<UsedTokenDoc>(
      { _id: String, checkpointId: String, recipient: String, usedAt: Date },
      { ...opts, collection: 'used_tokens' },
    ),
  );
  const events = conn.model<EventDoc>(
    'Event',
    new Schema<EventDoc>(
      { _id: String, name: String, key: String, payload: mixed, createdAt: Date },
      { ...opts, collection: 'events' },
    ),
  );
  const identities = conn.model<IdentityDoc>(
    'Identity',
    new Schema<IdentityDoc>(
      { _id: String, slackUserId: String, name: String, updatedAt: Date },
      { ...opts, collection: 'identities' },
    ),
  );
  // Audit lines live in their own collection: FerretDB rewrites a whole document on update, so a `$push` onto the
  // checkpoint racing a decision could write the checkpoint back as it was before the decision.
  const audit = conn.model<AuditDoc>(
    'Audit',
    new Schema<AuditDoc>(
      {
        checkpointId: String,
        runId: String,
        at: Date,
        actor: String,
        channel: String,
        outcome: String,
        detail: String,
      },
      { ...opts, collection: 'checkpoint_audit' },
    ),
  );
  const delegations = conn.model<DelegationDoc>(
    'Delegation',
    new Schema<DelegationDoc>(
      {
        _id: String,
        approver: String,
        delegate: String,
        until: Date,
        reason: String,
        createdBy: String,
        createdAt: Date,
      },
      { ...opts, collection: 'delegations' },
    ),
  );
  const claims = conn.model<ClaimDoc>(
    'Claim',
    new Schema<ClaimDoc>({ _id: String, at: Date, intent: mixed }, { ...opts, collection: 'claims' }),
  );
  return {
    runs,
    steps,
    checkpoints,
    idempotency,
    effects,
    modelCalls,
    toolCalls,
    usedTokens,
    events,
    identities,
    claims,
    audit,
    delegations,
  };
}

export type Models = ReturnType<typeof defineModels>;

export interface Store extends Models {
  connection: Connection;
  close(): Promise<void>;
}

/** Opens the one MongoDB connection of a process. `autoIndex` off: indexes are built once by `ensureIndexes`. */
export async function openStore(uri: string): Promise<Store> {
  const connection = mongoose.createConnection(uri, {
    autoIndex: false,
    serverSelectionTimeoutMS: 5_000,
    maxPoolSize: 20,
    // Command monitoring lets the bench and the index test count and read every request (request-log.ts).
    monitorCommands: true,
  });
  // A connection that never came up must not keep retrying in the background of a caller that tries again.
  await connection.asPromise().catch(async (err: unknown) => {
    await connection.close(true).catch(() => {});
    throw err;
  });
  const models = defineModels(connection);
  return { connection, ...models, close: () => connection.close() };
}

/** Builds the indexes of `src/store/indexes.ts` (the one list) and those the modules declare. */
export async function ensureIndexes(store: Store, extra: readonly IndexSpec[] = []): Promise<void> {
  const db = store.connection.db;
  if (!db) throw new Error('the store is not connected');
  await buildIndexes(db, [...INDEXES, ...extra]);
}

/** Mongo duplicate key (E11000); FerretDB reports the same code without keyValue. */
export { isDuplicateKey } from '../duplicate-key.js';
