import type { RunView } from '../engine/types.js';

/**
 * A run's progress in plain words, for the page a form shows after submit. It carries only what the person who
 * submitted may see: the status and the names of the steps (no inputs, findings, proposals, costs or errors), since
 * that person may be a customer holding a public link.
 */
export type ProgressState = 'queued' | 'running' | 'waiting-person' | 'waiting' | 'completed' | 'failed' | 'cancelled';

export interface RunProgress {
  runId: string;
  state: ProgressState;
  /** Whether nothing more will change (the page stops refreshing). */
  finished: boolean;
  steps: { name: string; state: 'queued' | 'running' | 'waiting-person' | 'waiting' | 'completed' | 'failed' }[];
}

/** Bookkeeping steps (clock reads, ids, the autonomy lookup) mean nothing to the person waiting. */
const SHOWN_KINDS = new Set(['step', 'agent', 'checkpoint', 'sleep', 'event']);

export function runProgress(run: RunView): RunProgress {
  const waitingForPerson = run.checkpoints.some((c) => c.status === 'pending');
  const state: ProgressState =
    run.status === 'waiting' ? (waitingForPerson ? 'waiting-person' : 'waiting') : run.status;
  const steps = run.steps
    .filter((s) => SHOWN_KINDS.has(s.kind))
    .map((s) => ({
      name: s.name,
      state: s.status === 'waiting' && s.kind === 'checkpoint' ? ('waiting-person' as const) : s.status,
    }));
  return {
    runId: run.id,
    state,
    finished: run.status === 'completed' || run.status === 'failed' || run.status === 'cancelled',
    steps,
  };
}
