import type {
  CheckpointDoc,
  Decision,
  RunStatus,
  StepKind,
  StepRetry,
  StepStatus,
  ToolCallDoc,
  Usage,
} from '../store/models.js';
import type { AgreementFilter, AgreementStats } from './agreement-stats.js';
import type { DelegationRequest, DelegationView } from './delegation.js';

export interface StartRunRequest {
  workflow: string;
  /** Validated against the workflow's input schema; InvalidInput lists the issues. */
  input: unknown;
  /** Same key, same workflow: the existing run is returned with `created: false`. */
  idempotencyKey?: string;
  source: { channel: 'webhook' | 'api' | 'slack' | 'email' | 'form' | 'cli'; key?: string };
}

export interface DecisionRequest {
  checkpointId: string;
  decision: 'approve' | 'reject';
  edits?: Record<string, unknown>;
  comment?: string;
  /** Who decides: an email address, a Slack user id, or the API caller's name. */
  actor: string;
  /** Other identifiers of the same person (their Slack user id when the actor is their email). */
  aliases?: string[];
  channel: Decision['channel'];
  /**
   * The checkpoint version the person reviewed (the console's bulk approval): when the checkpoint has moved on since
   * (a partial approval, a reminder's edit), the decision is refused with StaleCheckpoint and nothing is written.
   */
  expectedVersion?: number;
}

/** Who cancels or retries, and why: recorded in the run's journal. */
export interface RunActionRequest {
  runId: string;
  actor: string;
  reason?: string;
}

export interface RetryStepRequest extends RunActionRequest {
  stepId: string;
  /**
   * How many times the step had been retried when the person looked (the console's confirmation page): a retry by
   * someone else since is refused, so a stale page does not run the step a second time.
   */
  expectedRetries?: number;
}

/** One model call of an agent step, as the console's run detail shows it. */
export interface ModelCallView {
  stepId: string;
  agent: string;
  model: string;
  provider?: string;
  turn: number;
  status: 'ok' | 'error';
  error?: string;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number;
  latencyMs: number;
  at: Date;
  /** Set on a call of a try a person then retried: which generation it was (0 = the step's first run). */
  replacedTry?: number;
}

/** One tool call of an agent step: arguments as recorded (the console redacts what the configuration names). */
export type ToolCallView = Omit<ToolCallDoc, 'runId'> & {
  /** Set on a call of a try a person then retried: which generation it was (0 = the step's first run). */
  replacedTry?: number;
};

/** A run with everything a person reading it needs: its journal's steps with their results, calls and source. */
export interface RunDetailView extends RunView {
  source: { channel: string; key?: string } | null;
  modelCalls: ModelCallView[];
  toolCalls: ToolCallView[];
  /** Each visible step's recorded result (agents' findings, the proposal), by step id. */
  results: Record<string, unknown>;
  /** Who cancelled the run, when it was cancelled. */
  cancelled: { actor: string; at: Date; reason?: string } | null;
}

/** The public shape of a run (GET /api/runs/:id), per CONTRACT.md. */
export interface RunView {
  id: string;
  workflow: string;
  status: RunStatus;
  input: unknown;
  output: unknown;
  error: { message: string; code: string } | null;
  steps: {
    id: string;
    name: string;
    kind: StepKind;
    status: StepStatus;
    attempts: number;
    startedAt: Date | null;
    finishedAt: Date | null;
    usage: Usage;
    error: { message: string; code: string } | null;
    /** Agent steps that ended: the version (src/agents/version.ts) of the agent that ran, with its model. */
    agentVersion?: string;
    /** A step people tried again (Engine.retryStep): who, when, and each failure it replaced, oldest first. */
    retries?: StepRetry[];
  }[];
  checkpoints: {
    id: string;
    name: string;
    status: CheckpointDoc['status'];
    decision: Decision | null;
    /** Partial approvals toward a quorum. */
    approvals: CheckpointDoc['approvals'];
    /** Refused attempts, escalations and channel errors (e.g. Slack `invalid_blocks`), oldest first. */
    audit: CheckpointDoc['audit'];
  }[];
  usage: { inputTokens: number; outputTokens: number; cachedTokens: number; costUsd: number };
  createdAt: Date;
  updatedAt: Date;
}

/** What inbound handlers may ask of the engine. One decide path for every channel. */
export interface Engine {
  startRun(req: StartRunRequest): Promise<{ runId: string; created: boolean }>;
  /** Throws NotFound, NotAuthorized, InvalidInput (edits) or AlreadyDecided (naming who decided first). */
  decide(req: DecisionRequest): Promise<CheckpointDoc>;
  getRun(runId: string): Promise<RunView | null>;
  /** `getRun` plus model and tool calls, step results and source, from the same journal read. */
  getRunDetail(runId: string): Promise<RunDetailView | null>;
  /**
   * Cancels a run that has not finished: pending checkpoints are cancelled, no further step is dispatched, and the
   * run ends `cancelled` with who and why in its journal. Idempotent; a finished run is left as it is.
   * Throws NotFound.
   */
  cancelRun(req: RunActionRequest): Promise<{ cancelled: boolean; status: RunStatus }>;
  /**
   * Tries a failed step again (its earlier attempts stay in the journal) and resumes the run from there; the run
   * is `running` again. Throws NotFound, or InvalidInput when the step has not failed or the run was cancelled.
   */
  retryStep(req: RetryStepRequest): Promise<{ retried: boolean; status: RunStatus }>;
  listRuns(filter: { status?: RunStatus; workflow?: string; limit?: number }): Promise<RunView[]>;
  getCheckpoint(checkpointId: string): Promise<CheckpointDoc | null>;
  /** Whether `actor` (an email address or Slack user id, with its aliases) may decide this checkpoint. */
  mayDecide(checkpoint: CheckpointDoc, actor: string, aliases?: string[]): Promise<boolean>;
  /** Those of `checkpoints` that `actor` may decide, in order; one identity and delegation read for the whole list. */
  decidableBy(checkpoints: readonly CheckpointDoc[], actor: string, aliases?: string[]): Promise<CheckpointDoc[]>;
  listCheckpoints(filter: {
    status?: CheckpointDoc['status'];
    decidedSince?: Date;
    limit?: number;
  }): Promise<CheckpointDoc[]>;
  /** Delivers an event to runs waiting for it (ctx.waitForEvent), and keeps it for waits that start later. */
  sendEvent(event: { name: string; key: string; payload: unknown }): Promise<{ delivered: number }>;
  hasWorkflow(name: string): boolean;
  /**
   * An approver who is away names a delegate until a date: the delegate is told of the approver's new checkpoints
   * and may decide them (and those already pending), recorded as `onBehalfOf`. Replaces the approver's earlier one.
   * Throws InvalidInput (unknown identifier shape, `until` in the past, delegating to oneself).
   */
  setDelegation(request: DelegationRequest): Promise<DelegationView>;
  /** Ends the approver's delegation, whichever identifier (email or Slack id) it was set under. */
  clearDelegation(approver: string): Promise<{ cleared: number }>;
  listDelegations(filter?: { active?: boolean }): Promise<DelegationView[]>;
  /**
   * Agreement between the AI's proposals and the decisions, per workflow and per agent, from the `agreements`
   * records written for every decided checkpoint and every proposal the autonomy policy let stand.
   */
  agreementStats(filter?: AgreementFilter): Promise<AgreementStats>;
}
