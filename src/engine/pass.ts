import { randomUUID } from 'node:crypto';
import { claim } from '../store/claims.js';
import type { CheckpointDoc, RunDoc, RunStatus, StepDoc } from '../store/models.js';
import { PassContext, type Suspension } from './context.js';
import type { EngineDeps } from './deps.js';
import { errorOf } from './stored-error.js';

const TERMINAL: RunStatus[] = ['completed', 'failed', 'cancelled'];

type PassOutcome =
  | { kind: 'done'; output: unknown }
  | { kind: 'failed'; error: unknown }
  | ({ kind: 'suspended' } & Suspension);

/**
 * One run pass: take the run's lease, replay the workflow against its journal, dispatch what is new, record the
 * run's status, release. A pass that finds the lease taken puts itself back on the queue under an id of its own,
 * so its wake-up survives until it gets the lease (a shared flag would not: FerretDB's updates are not atomic).
 */
export async function runPass(deps: EngineDeps, runId: string): Promise<void> {
  const owner = randomUUID();
  const run = await acquire(deps, runId, owner);
  if (!run) return;
  // FerretDB rewrites whole documents, so this pass's own writes to the run (heartbeats, the final status) must not
  // overlap either: they go one after another.
  let writes: Promise<unknown> = Promise.resolve();
  const serial = <T>(write: () => Promise<T>): Promise<T> => {
    const next = writes.then(write);
    writes = next.catch(() => undefined);
    return next;
  };
  const heartbeat = setInterval(
    () => void serial(() => renew(deps, runId, owner)),
    Math.max(250, deps.settings.leaseMs / 3),
  );
  let result: Record<string, unknown> | null = null;
  try {
    if (!TERMINAL.includes(run.status)) result = await replay(deps, run);
  } finally {
    clearInterval(heartbeat);
    await serial(async () => {
      const now = await deps.store.runs.findById(runId).lean<RunDoc>();
      if (now?.lease?.owner !== owner) {
        // Our lease expired and another pass took over: the run is theirs to record and release.
        deps.logger.warn({ runId }, 'a pass outlived its lease; its result is left to the pass that took over');
        return;
      }
      const release = { lease: { owner: null, until: new Date(0), gen: now.lease.gen } };
      await deps.store.runs.updateOne(
        { _id: runId },
        result ? { $set: { ...result, ...release }, $inc: { passes: 1 } } : { $set: release },
      );
    });
  }
}

/**
 * Takes the run's lease: the next lease generation is a claim (a unique insert), so two passes never both win,
 * even on FerretDB where a conditional update is not atomic.
 */
async function acquire(deps: EngineDeps, runId: string, owner: string): Promise<RunDoc | null> {
  const run = await deps.store.runs.findById(runId).lean<RunDoc>();
  if (!run) {
    deps.logger.warn({ runId }, 'pass for a run that does not exist');
    return null;
  }
  const now = deps.clock.now();
  const lease = run.lease;
  const held = Boolean(lease?.owner) && new Date(lease?.until ?? 0) > now;
  if (!held) {
    const gen = await claimNextLease(deps, runId, (lease?.gen ?? 0) + 1, now);
    if (gen !== null) {
      const until = new Date(now.getTime() + deps.settings.leaseMs);
      await deps.store.runs.updateOne({ _id: runId }, { $set: { lease: { owner, until, gen } } });
      return { ...run, lease: { owner, until, gen } };
    }
  }
  // Usually the holder finishes within milliseconds; poll soon, and never later than the lease's end.
  const untilMs = held ? new Date(lease?.until ?? 0).getTime() - now.getTime() : 0;
  const delay = Math.min(Math.max(untilMs, 50), 250) + Math.floor(Math.random() * 50);
  await deps.queues.enqueuePass(runId, `busy-${owner}`, delay);
  return null;
}

/**
 * Claims lease generation `gen`. A claim older than a lease whose holder never wrote it on the run (it died right
 * after claiming, or a late release overwrote it) would block every later pass, so such a claim counts as expired
 * and the next generation is tried.
 */
async function claimNextLease(deps: EngineDeps, runId: string, gen: number, now: Date): Promise<number | null> {
  for (let g = gen; g < gen + 5; g++) {
    if (await claim(deps.store, `lease:${runId}:${g}`, undefined, now)) return g;
    const blocking = await deps.store.claims.findById(`lease:${runId}:${g}`).lean();
    if (!blocking || new Date(blocking.at).getTime() + deps.settings.leaseMs > now.getTime()) return null;
  }
  return null;
}

async function renew(deps: EngineDeps, runId: string, owner: string) {
  const until = new Date(deps.clock.now().getTime() + deps.settings.leaseMs);
  await deps.store.runs
    .updateOne({ _id: runId, 'lease.owner': owner }, { $set: { 'lease.until': until } })
    .catch(() => {});
}

/** Replays the workflow and returns what to record on the run (written together with the lease's release). */
async function replay(deps: EngineDeps, run: RunDoc): Promise<Record<string, unknown>> {
  const log = deps.logger.child({ runId: run._id, workflow: run.workflow });
  const workflow = deps.workflows.get(run.workflow);
  const started = process.hrtime.bigint();
  let outcome: PassOutcome;
  if (!workflow) {
    outcome = { kind: 'failed', error: new Error(`workflow ${run.workflow} is not registered in this worker`) };
  } else {
    const [steps, checkpoints] = await Promise.all([
      deps.store.steps.find({ runId: run._id }).lean<StepDoc[]>(),
      deps.store.checkpoints.find({ runId: run._id }).lean<CheckpointDoc[]>(),
    ]);
    const ctx = new PassContext(
      deps,
      run,
      new Map(steps.map((s) => [s.stepId, s])),
      new Map(checkpoints.map((c) => [c._id, c])),
    );
    const finished = workflow.run(ctx, run.input).then(
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
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  deps.metrics.runPasses.observe({ workflow: run.workflow }, seconds);
  const base = { updatedAt: now };
  if (outcome.kind === 'done') {
    deps.metrics.runsFinished.inc({ workflow: run.workflow, status: 'completed' });
    log.info('run completed');
    return { ...base, status: 'completed', output: outcome.output ?? null };
  }
  if (outcome.kind === 'failed') {
    const error = errorOf(outcome.error, now);
    deps.metrics.runsFinished.inc({ workflow: run.workflow, status: 'failed' });
    log.warn({ err: error.message }, 'run failed');
    return { ...base, status: 'failed', error };
  }
  const status: RunStatus = outcome.busy ? 'running' : 'waiting';
  log.debug({ status }, 'pass suspended');
  return { ...base, status };
}
