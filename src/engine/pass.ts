import { randomUUID } from 'node:crypto';
import { isInfrastructureError } from '../infra-errors.js';
import type { CheckpointDoc, RunStatus } from '../store/models.js';
import { PassContext, type Suspension } from './context.js';
import type { EngineDeps } from './deps.js';
import { cancelPendingCheckpoints } from './run-actions.js';
import type { Cancellation, Journal } from './store-port.js';
import { errorOf } from './stored-error.js';

type PassOutcome =
  | { kind: 'done'; output: unknown }
  | { kind: 'failed'; error: unknown }
  | { kind: 'cancelled'; by: Cancellation }
  | ({ kind: 'suspended' } & Suspension);

export type PassResult = 'ran' | 'busy' | 'missing';

/** A pass handed the run's lease by whoever took it (a decision, see resume.ts), with the journal they read. */
export interface Handoff {
  journal: Journal;
  gen: number;
  owner: string;
}

export interface PassOptions {
  handoff?: Handoff;
  /** Why the pass runs (the job's tag); a `reconcile` pass rewrites the run's status even when unchanged. */
  reason?: string;
  /** Checkpoints the caller has just read or written (a decision): the pass need not read them again. */
  checkpoints?: CheckpointDoc[];
  /** When the run is busy: put the pass back on the queue (a job), or leave it to the caller (in-process resume). */
  onBusy?: 'requeue' | 'report';
}

/**
 * One run pass: read the journal, replay the workflow, and write what is new in one request, then record the run's
 * status when it changed. One pass at a time changes a run: each pass belongs to the next generation of the run's
 * lease, and its batched write starts with that generation's lease record (a unique insert), so of two passes
 * replaying at once, one writes and the other writes nothing and runs again. A pass about to run a side effect takes
 * the lease first (context.ts), and then holds it, renewed, until its write; a pass that finds the lease held puts
 * itself back on the queue under an id of its own, so its wake-up survives until the holder is done. A holder that
 * died leaves a generation that expires after the lease time.
 */
export async function runPass(deps: EngineDeps, runId: string, options: PassOptions = {}): Promise<PassResult> {
  // Wake-ups that arrive while this process replays the run (agents finishing together, a decision) are folded
  // into one more pass after it, instead of replaying beside it only to lose the write.
  const local = passesInProcess(deps);
  const current = local.get(runId);
  // A pass handed the lease must run now: it holds the run, and any optimistic pass beside it will lose its write.
  if (options.handoff) {
    const written = await replay(deps, options.handoff.journal, options.handoff.gen, options.handoff.owner, options);
    if (current) current.again = true;
    return written ? 'ran' : 'busy';
  }
  if (current) {
    current.again = true;
    current.reconcile ||= options.reason?.startsWith('reconcile') ?? false;
    // The job stays active until the pass that took it over is done: should this process die, it is run again.
    return current.finished;
  }
  let finish: (result: PassResult) => void = () => {};
  const mine: InProcessPass = {
    again: false,
    reconcile: false,
    finished: new Promise<PassResult>((resolve) => {
      finish = resolve;
    }),
  };
  local.set(runId, mine);
  let result: PassResult = 'busy';
  try {
    result = await passOnce(deps, runId, options);
    while (mine.again && result === 'ran') {
      const reason = mine.reconcile ? 'reconcile-again' : 'again';
      mine.again = false;
      mine.reconcile = false;
      result = await passOnce(deps, runId, { reason });
    }
    if (mine.again && result === 'busy') await requeueBusy(deps, runId, randomUUID(), deps.clock.now());
    return result;
  } finally {
    local.delete(runId);
    finish(result);
  }
}

interface InProcessPass {
  again: boolean;
  reconcile: boolean;
  finished: Promise<PassResult>;
}

const inProcess = new WeakMap<EngineDeps, Map<string, InProcessPass>>();
function passesInProcess(deps: EngineDeps) {
  let map = inProcess.get(deps);
  if (!map) {
    map = new Map();
    inProcess.set(deps, map);
  }
  return map;
}

async function passOnce(deps: EngineDeps, runId: string, options: PassOptions): Promise<PassResult> {
  const owner = randomUUID();
  let journal = await deps.engineStore.loadJournal(runId);
  if (!journal.start) {
    const restored = await restoreStart(deps, runId);
    if (!restored) {
      deps.logger.warn({ runId }, 'pass for a run that does not exist');
      return 'missing';
    }
    journal = restored;
  }
  const now = deps.clock.now();
  const last = journal.lastPass;
  if (last !== null && !last.released && last.until > now) return busy(deps, runId, owner, last.until, options);
  const written = await replay(deps, journal, (last?.gen ?? 0) + 1, owner, options);
  return written ? 'ran' : busy(deps, runId, owner, now, options);
}

async function busy(deps: EngineDeps, runId: string, owner: string, until: Date, options: PassOptions) {
  if (options.onBusy !== 'report') await requeueBusy(deps, runId, owner, until);
  return 'busy' as const;
}

/** A run whose start record was never written (a crash right after the run's insert, or a run from before it). */
async function restoreStart(deps: EngineDeps, runId: string): Promise<Journal | null> {
  const run = await deps.engineStore.getRun(runId);
  if (!run) return null;
  await deps.engineStore.append([
    { kind: 'start', runId, start: { workflow: run.workflow, input: run.input, createdAt: run.createdAt } },
  ]);
  return deps.engineStore.loadJournal(runId);
}

/** Usually the holder finishes within milliseconds; poll soon, and never later than the lease's end. */
async function requeueBusy(deps: EngineDeps, runId: string, owner: string, until: Date) {
  const untilMs = until.getTime() - deps.clock.now().getTime();
  const delay = Math.min(Math.max(untilMs, 20), 100) + Math.floor(Math.random() * 30);
  await deps.queues.enqueuePass(runId, `busy-${owner}`, delay);
}

/** Replays the workflow and writes the pass; false when another pass of the same generation wrote first. */
async function replay(
  deps: EngineDeps,
  journal: Journal,
  gen: number,
  owner: string,
  options: PassOptions,
): Promise<boolean> {
  if (!journal.start) return true;
  const ctx = new PassContext(deps, journal, gen, owner, options.checkpoints ?? [], Boolean(options.handoff));
  try {
    return await replayWith(deps, ctx, journal, options);
  } catch (err) {
    if (isInfrastructureError(err)) await ctx.abandon(deps.clock.now());
    throw err;
  } finally {
    ctx.stopHeartbeat();
  }
}

async function replayWith(deps: EngineDeps, ctx: PassContext, journal: Journal, options: PassOptions) {
  const runId = journal.runId;
  const start = journal.start;
  if (!start) return true;
  const log = deps.logger.child({ runId, workflow: start.workflow });
  const workflow = deps.workflows.get(start.workflow);
  const started = process.hrtime.bigint();
  const previous = journal.lastPass?.status ?? 'queued';
  // A cancelled run is not replayed: nothing new is dispatched. A run that finished before the cancellation was
  // recorded (a race with its last pass) stays as it ended.
  const cancelledBy = previous !== 'completed' && previous !== 'failed' ? journal.cancelled : null;
  let outcome: PassOutcome;
  if (cancelledBy) {
    outcome = { kind: 'cancelled', by: cancelledBy };
  } else if (!workflow) {
    outcome = { kind: 'failed', error: new Error(`workflow ${start.workflow} is not registered in this worker`) };
  } else {
    await ctx.prepare();
    const finished = workflow.run(ctx, start.input).then(
      (output): PassOutcome => ({ kind: 'done', output }),
      (error: unknown): PassOutcome => ({ kind: 'failed', error }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<PassOutcome>((resolve) => {
      timer = setTimeout(
        () =>
          resolve({
            kind: 'failed',
            error: new Error('the workflow neither finished nor waited: I/O outside ctx.step?'),
          }),
        deps.settings.passTimeoutMs,
      );
    });
    outcome = await Promise.race([
      finished,
      ctx.suspended().then((s): PassOutcome => ({ kind: 'suspended', ...s })),
      timeout,
    ]);
    clearTimeout(timer);
  }
  const now = deps.clock.now();
  deps.metrics.runPasses.observe({ workflow: start.workflow }, Number(process.hrtime.bigint() - started) / 1e9);
  // An outage met by the workflow (a step's write, a checkpoint's insert, a queue) is not the run's failure: the
  // pass writes nothing and its job is tried again once the store or Redis answers.
  if (outcome.kind === 'failed' && isInfrastructureError(outcome.error)) throw outcome.error;
  let status: RunStatus;
  let summary: { output?: unknown; error?: ReturnType<typeof errorOf> | null } = {};
  if (outcome.kind === 'cancelled') {
    status = 'cancelled';
  } else if (outcome.kind === 'done') {
    status = 'completed';
    summary = { output: outcome.output ?? null };
  } else if (outcome.kind === 'failed') {
    status = 'failed';
    summary = { error: errorOf(outcome.error, now) };
  } else {
    status = outcome.busy ? 'running' : 'waiting';
  }
  // A run's first pass leaves it `queued` while its agents work (views show it as running), saving a write.
  const changed = status !== previous && !(previous === 'queued' && status === 'running');
  const reconciling = options.reason?.startsWith('reconcile') ?? false;
  // A failed run a person retried is failing no more.
  if (changed && previous === 'failed' && status !== 'failed') summary.error = null;
  if (outcome.kind === 'cancelled' && (changed || reconciling)) {
    // Checkpoints created after the cancelling person's sweep (a pass at work meanwhile) are cancelled here.
    await cancelPendingCheckpoints(deps, journal, outcome.by);
  }
  // Agents already at work when the run was cancelled still end: their call logs are copied all the same.
  const lateEnds = outcome.kind === 'cancelled' && ctx.hasUnseenEnds();
  // The journal first: a crash between the two leaves the run document a status behind, and the reconciler's pass
  // (which always writes it) brings it in line.
  if (!(await ctx.flush(status, now, changed || reconciling || lateEnds))) {
    log.debug('another pass of this generation wrote first');
    return false;
  }
  // The usage rides along, so lists read a run's cost from its document and not from its steps.
  if (changed || reconciling) {
    await deps.engineStore.setRun(runId, { status, ...summary, usage: ctx.usage(), updatedAt: now });
  }
  if (changed && (status === 'completed' || status === 'failed' || status === 'cancelled')) {
    deps.metrics.runsFinished.inc({ workflow: start.workflow, status });
    if (status === 'completed') log.info('run completed');
    else if (outcome.kind === 'cancelled') log.info({ by: outcome.by.actor }, 'run cancelled');
    else log.warn({ err: summary.error?.message }, 'run failed');
  }
  await ctx.afterFlush();
  log.debug({ status }, 'pass ended');
  return true;
}
