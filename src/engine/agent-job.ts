import type { Job } from 'bullmq';
import { NonRetryable, Retryable } from '../errors.js';
import { claim } from '../store/claims.js';
import type { StepDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import { stepDocId } from './ids.js';
import type { AgentJob } from './queues.js';
import { errorOf } from './stored-error.js';

/**
 * Executes one agent step. The journal, not BullMQ, says whether the work is done: a job that runs again after
 * its step completed (a crash between the two writes, a reconciler re-add) only wakes the run.
 */
export async function handleAgentJob(deps: EngineDeps, job: Job<AgentJob>, signal?: AbortSignal): Promise<void> {
  const { runId, stepId } = job.data;
  const _id = stepDocId(runId, stepId);
  const log = deps.logger.child({ runId, stepId });
  const step = await deps.store.steps.findById(_id).lean<StepDoc>();
  if (!step) {
    log.warn('agent job for a step that is not in the journal');
    return;
  }
  if (step.status === 'completed' || step.status === 'failed') {
    await deps.queues.enqueuePass(runId, `s${step.seq}`);
    return;
  }
  const agent = deps.agents.get(step.name);
  const now = deps.clock.now();
  if (!agent) {
    await fail(deps, step, new NonRetryable(`agent ${step.name} is not registered in this worker`));
    return;
  }
  await deps.store.steps.updateOne(
    { _id, status: { $in: ['queued', 'running'] } },
    { $set: { status: 'running', startedAt: step.startedAt ?? now, updatedAt: now }, $inc: { attempts: 1 } },
  );
  deps.failpoints.hit(`agent-running:${step.name}`);
  const started = Date.now();
  try {
    const result = await deps.runner.run(agent, step.input, { runId, stepId, ...(signal ? { signal } : {}) });
    const finishedAt = deps.clock.now();
    // A step ends once: a second worker that ran it after a stall finds the claim taken and only wakes the run.
    // The run's usage is summed from its steps when read: writing it on the run document here would race the
    // pass that holds the run (FerretDB rewrites whole documents).
    if (await claim(deps.store, `step-end:${_id}`, undefined, finishedAt)) {
      await deps.store.steps.updateOne(
        { _id },
        {
          $set: { status: 'completed', result: result.output, usage: result.usage, finishedAt, updatedAt: finishedAt },
        },
      );
    }
    deps.metrics.agentSteps.observe({ agent: step.name, outcome: 'ok' }, (Date.now() - started) / 1000);
    deps.failpoints.hit(`agent-journaled:${step.name}`);
    await deps.queues.enqueuePass(runId, `s${step.seq}`);
  } catch (err) {
    deps.metrics.agentSteps.observe({ agent: step.name, outcome: 'error' }, (Date.now() - started) / 1000);
    const attempts = job.opts.attempts ?? 1;
    const last = job.attemptsMade + 1 >= attempts;
    if (err instanceof NonRetryable || !(err instanceof Error) || last) {
      await fail(deps, step, err);
      return;
    }
    const error = errorOf(err, deps.clock.now());
    await deps.store.steps.updateOne({ _id }, { $set: { error, updatedAt: error.at } });
    log.warn({ attempt: job.attemptsMade + 1, err: error.message }, 'agent step failed; retrying');
    throw err;
  }
}

async function fail(deps: EngineDeps, step: StepDoc, err: unknown) {
  const error = errorOf(err, deps.clock.now());
  if (await claim(deps.store, `step-end:${step._id}`, undefined, error.at)) {
    await deps.store.steps.updateOne(
      { _id: step._id },
      { $set: { status: 'failed', error, finishedAt: error.at, updatedAt: error.at } },
    );
  }
  deps.logger.warn({ runId: step.runId, stepId: step.stepId, err: error.message }, 'agent step failed');
  await deps.queues.enqueuePass(step.runId, `s${step.seq}`);
}

/** BullMQ backoff: what the model asked for (Retry-After) when it said, else exponential from the base. */
export function agentBackoff(baseMs: number) {
  return (attemptsMade: number, _type: string | undefined, err: Error | undefined): number => {
    if (err instanceof Retryable && err.retryAfterMs !== undefined) return err.retryAfterMs;
    return baseMs * 2 ** Math.max(0, attemptsMade - 1);
  };
}
