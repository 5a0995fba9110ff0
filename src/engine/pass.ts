import { randomUUID } from 'node:crypto';
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
 * run's status, release. A pass that finds the lease taken marks the run dirty; the holder runs again before it
 * lets go, so no wake-up is lost, and a delayed pass covers a holder that died.
 */
export async function runPass(deps: EngineDeps, runId: string): Promise<void> {
  const owner = randomUUID();
  for (let round = 0; round < 20; round++) {
    const run = await acquire(deps, runId, owner);
    if (!run) return;
    const heartbeat = setInterval(() => void renew(deps, runId, owner), Math.max(250, deps.settings.leaseMs / 3));
    try {
      if (!TERMINAL.includes(run.status)) await replay(deps, run);
    } finally {
      clearInterval(heartbeat);
    }
    const before = await deps.store.runs
      .findOneAndUpdate({ _id: runId, 'lease.owner': owner }, { $set: { lease: null } }, { returnDocument: 'before' })
      .lean();
    if (!before?.dirty) return;
  }
  deps.logger.warn({ runId }, 'run kept being woken during its passes; a later pass will continue');
  await deps.queues.enqueuePass(runId, `busy-${Date.now()}`, 1_000);
}

async function acquire(deps: EngineDeps, runId: string, owner: string): Promise<RunDoc | null> {
  const now = deps.clock.now();
  const until = new Date(now.getTime() + deps.settings.leaseMs);
  const take = () =>
    deps.store.runs
      .findOneAndUpdate(
        { _id: runId, $or: [{ lease: null }, { 'lease.until': { $lt: now } }] },
        { $set: { lease: { owner, until }, dirty: false } },
        { returnDocument: 'after' },
      )
      .lean();
  const run = await take();
  if (run) return run;
  const marked = await deps.store.runs
    .findOneAndUpdate({ _id: runId }, { $set: { dirty: true } }, { returnDocument: 'after' })
    .lean();
  if (!marked) {
    deps.logger.warn({ runId }, 'pass for a run that does not exist');
    return null;
  }
  // The holder may have let go between our two writes without seeing the flag: try once more.
  const second = await take();
  if (second) return second;
  const holderUntil = marked.lease?.until ?? until;
  const delay = Math.max(100, holderUntil.getTime() - now.getTime() + 100);
  await deps.queues.enqueuePass(runId, `lease-${holderUntil.getTime()}`, delay);
  return null;
}

async function renew(deps: EngineDeps, runId: string, owner: string) {
  const until = new Date(deps.clock.now().getTime() + deps.settings.leaseMs);
  await deps.store.runs
    .updateOne({ _id: runId, 'lease.owner': owner }, { $set: { 'lease.until': until } })
    .catch(() => {});
}

async function replay(deps: EngineDeps, run: RunDoc): Promise<void> {
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
    await deps.store.runs.updateOne(
      { _id: run._id },
      { $set: { ...base, status: 'completed', output: outcome.output ?? null }, $inc: { passes: 1 } },
    );
    deps.metrics.runsFinished.inc({ workflow: run.workflow, status: 'completed' });
    log.info('run completed');
  } else if (outcome.kind === 'failed') {
    const error = errorOf(outcome.error, now);
    await deps.store.runs.updateOne(
      { _id: run._id },
      { $set: { ...base, status: 'failed', error }, $inc: { passes: 1 } },
    );
    deps.metrics.runsFinished.inc({ workflow: run.workflow, status: 'failed' });
    log.warn({ err: error.message }, 'run failed');
  } else {
    const status: RunStatus = outcome.busy ? 'running' : 'waiting';
    await deps.store.runs.updateOne({ _id: run._id }, { $set: { ...base, status }, $inc: { passes: 1 } });
    log.debug({ status }, 'pass suspended');
  }
}
