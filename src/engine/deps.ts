import type { Logger } from 'pino';
import type { Agent, AgentRunner } from '../agents/define.js';
import type { SliceRule } from '../autonomy/boundary.js';
import { DEFAULT_BANDS, type SliceBands } from '../autonomy/slices.js';
import type { Autonomy } from '../config.js';
import type { Metrics } from '../metrics.js';
import type { CheckpointDoc, Store } from '../store/models.js';
import type { Failpoints } from './failpoints.js';
import type { Queues } from './queues.js';
import type { EngineStore } from './store-port.js';
import type { WorkflowRegistry } from './workflow.js';

/**
 * Answers "is this person among the approvers" for groups the engine cannot see itself (Slack user groups and
 * channel members). `identities` are every identifier of one person: email, Slack user id.
 */
export interface ApproverDirectory {
  isMember(checkpoint: CheckpointDoc, identities: string[]): Promise<boolean>;
}

export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

export type AgentRegistry = ReadonlyMap<string, Agent<unknown, unknown>>;

export function agentRegistry(...agents: Agent<unknown, unknown>[]): AgentRegistry {
  const map = new Map<string, Agent<unknown, unknown>>();
  for (const a of agents) {
    const existing = map.get(a.name);
    if (existing && existing !== a) throw new Error(`two different agents are named ${a.name}`);
    map.set(a.name, a);
  }
  return map;
}

export interface EngineSettings {
  /** How long a run pass holds its run; renewed while the pass works. */
  leaseMs: number;
  /** Attempts of an agent step before it fails the run. */
  agentAttempts: number;
  /** First retry delay of an agent step; doubles each attempt unless the model said Retry-After. */
  agentBackoffMs: number;
  /** Default approvers when a checkpoint names none. */
  approverEmails: string[];
  /** A pass that neither finishes nor suspends within this is a bug (I/O outside ctx.step): it fails. */
  passTimeoutMs: number;
  /** Runs untouched this long with no pass job get one from the reconciler. */
  reconcileGraceMs: number;
  /** How often workers reconcile. */
  reconcileIntervalMs: number;
  /**
   * A decision resumes its run in the deciding process (no queue hop); off, the pass goes to the queue. On in a
   * process that runs workers (`countersign start`, `worker`): a `serve`-only process leaves passes to the workers.
   */
  resumeInProcess: boolean;
  /** Claims older than this are deleted (every claim has done its job long before). */
  claimRetentionMs: number;
  /** Finished runs' lease records are deleted after this; also how far back the reconciler looks for decisions. */
  journalRetentionMs: number;
  /** The deployment-wide autonomy ceiling (AUTONOMY): no workflow's verdict (ctx.autonomy) goes above it. */
  autonomyCeiling: Autonomy;
  /** Each workflow's own level (settings `workflows.<name>.autonomy`), capped by the ceiling; absent = the ceiling. */
  workflowAutonomy: Readonly<Record<string, Autonomy>>;
  /** Levels for kinds of case per workflow (settings `workflows.<name>.slices`); grants come from the store. */
  sliceAutonomy: Readonly<Record<string, readonly SliceRule[]>>;
  /** How a case is sliced by confidence and amount (settings `autonomy.confidenceBands` and `amountBands`). */
  sliceBands: SliceBands;
}

export const defaultSettings: EngineSettings = {
  leaseMs: 30_000,
  agentAttempts: 3,
  agentBackoffMs: 1_000,
  approverEmails: [],
  passTimeoutMs: 5 * 60_000,
  reconcileGraceMs: 10_000,
  reconcileIntervalMs: 30_000,
  resumeInProcess: false,
  claimRetentionMs: 24 * 3_600_000,
  journalRetentionMs: 7 * 24 * 3_600_000,
  autonomyCeiling: 'manual',
  workflowAutonomy: {},
  sliceAutonomy: {},
  sliceBands: DEFAULT_BANDS,
};

/** Everything the engine needs, handed over by the composition root. */
export interface EngineDeps {
  store: Store;
  /** The engine's own reads and writes (runs, journal, checkpoints, events, claims): see store-port.ts. */
  engineStore: EngineStore;
  /** Work started by a request that outlives it (a run resumed after a decision); shutdown waits for it. */
  inflight: Set<Promise<unknown>>;
  queues: Queues;
  workflows: WorkflowRegistry;
  agents: AgentRegistry;
  runner: AgentRunner;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  failpoints: Failpoints;
  settings: EngineSettings;
  /** Membership lookups beyond listed emails and Slack user ids; empty without Slack. */
  directories: ApproverDirectory[];
  /** Told of the outages jobs meet, so the process knows a dependency is down before its next probe. */
  health?: { report(err: unknown): boolean };
}
