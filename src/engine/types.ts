import type { CheckpointDoc, Decision, RunStatus, StepKind, StepStatus, Usage } from '../store/models.js';
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
  listRuns(filter: { status?: RunStatus; workflow?: string; limit?: number }): Promise<RunView[]>;
  getCheckpoint(checkpointId: string): Promise<CheckpointDoc | null>;
  /** Whether `actor` (an email address or Slack user id, with its aliases) may decide this checkpoint. */
  mayDecide(checkpoint: CheckpointDoc, actor: string, aliases?: string[]): Promise<boolean>;
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
