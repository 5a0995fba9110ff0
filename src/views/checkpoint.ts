import type { CheckpointDoc, Decision, RunStatus } from '../store/models.js';

/**
 * A checkpoint as templates and handlers see it: what a person is shown and may decide. The store's document
 * has more (schema version, the original proposal, agreement bookkeeping) that only the engine reads, so
 * a change to how checkpoints are stored does not reach the channels as long as this view holds.
 */
export type CheckpointView = Omit<CheckpointDoc, 'v' | 'originalValues' | 'agreement'>;

/** A person's (or a timeout's) decision on a checkpoint, as the approval page shows it. */
export type DecisionView = Decision;

/** A run's lifecycle status, as the API filters by it. */
export type RunStatusView = RunStatus;
