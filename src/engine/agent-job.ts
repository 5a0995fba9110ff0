import type { Job } from 'bullmq';
import { Types } from 'mongoose';
import { type BufferedCallLog, bufferedCallLog } from '../agents/call-log.js';
import type { Agent } from '../agents/define.js';
import { agentVersion } from '../agents/version.js';
import { NonRetryable, Retryable } from '../errors.js';
import { isInfrastructureError } from '../infra-errors.js';
import { type StepDoc, totalUsage } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import type { AgentDispatch, AgentJob } from './queues.js';
import type { CallLogs, StepEnd } from './store-port.js';
import { errorOf } from './stored-error.js';

/**
 * Executes one agent step. The job carries what the step was dispatched with, so the common path reads nothing:
 * it runs the agent, writes the model and tool call logs, then the step's end (a unique insert: a second worker
 * that ran the same step after a stall finds it taken). The journal, not BullMQ, says whether the step is done.
 */
export async function handleAgentJob(deps: EngineDeps, job: Job<AgentJob>, signal?: AbortSignal): Promise<void> {
  const { runId, stepId } = job.data;
  const log = deps.logger.child({ runId, stepId });
  const dispatch = job.data.dispatch ?? (await dispatchOf(deps, runId, stepId));
  if (!dispatch) {
    log.warn('agent job for a step that is not in the journal');
    return;
  }
  const agent = deps.agents.get(dispatch.name);
  // A worker that died mid-call leaves a stalled job, not a failed attempt: both count as tries of the step.
  const attempt = job.attemptsMade + job.stalledCounter + 1;
  const startedAt = job.processedOn ? new Date(job.processedOn) : deps.clock.now();
  if (!agent) {
    await end(deps, job.data, dispatch, {
      status: 'failed',
      error: errorOf(new NonRetryable(`agent ${dispatch.name} is not registered in this worker`), deps.clock.now()),
      attempts: attempt,
      finishedAt: deps.clock.now(),
    });
    return;
  }
  deps.failpoints.hit(`agent-running:${dispatch.name}`);
  const calls = bufferedCallLog();
  const started = Date.now();
  let stepEnd: StepEnd;
  try {
    const result = await deps.runner.run(agent, dispatch.input, {
      runId,
      stepId,
      log: calls,
      ...(dispatch.workflow ? { workflow: dispatch.workflow } : {}),
      ...(signal ? { signal } : {}),
    });
    deps.metrics.agentSteps.observe({ agent: dispatch.name, outcome: 'ok' }, (Date.now() - started) / 1000);
    // The run's usage is summed from its steps when read: writing it on the run here would race the pass.
    stepEnd = {
      status: 'completed',
      result: result.output,
      usage: result.usage,
      attempts: attempt,
      startedAt,
      finishedAt: deps.clock.now(),
      calls: logsOf(calls),
      agentVersion: versionRun(agent, calls),
    };
  } catch (err) {
    // An outage met by a tool (the store or Redis away) says nothing about the agent: the job is tried again
    // without using up the step's attempts (workers.ts).
    if (isInfrastructureError(err)) throw err;
    deps.metrics.agentSteps.observe({ agent: dispatch.name, outcome: 'error' }, (Date.now() - started) / 1000);
    const attempts = job.opts.attempts ?? 1;
    const error = errorOf(err, deps.clock.now());
    if (!(err instanceof NonRetryable) && err instanceof Error && attempt < attempts) {
      // A failed attempt's calls are written now: they explain the retry people will see.
      await deps.engineStore.insertCallLogs(logsOf(calls));
      await deps.engineStore.append([
        { kind: 'attempt', runId, stepId, attempt, error, ...(job.data.retry ? { retry: job.data.retry } : {}) },
      ]);
      log.warn({ attempt, err: error.message }, 'agent step failed; retrying');
      throw err;
    }
    log.warn({ err: error.message }, 'agent step failed');
    stepEnd = {
      status: 'failed',
      error,
      // What the failed try's model calls cost was spent all the same: the run's usage counts it.
      usage: totalUsage(calls.modelCalls().map((usage) => ({ usage }))),
      attempts: attempt,
      startedAt,
      finishedAt: error.at,
      calls: logsOf(calls),
      agentVersion: versionRun(agent, calls),
    };
  }
  // Outside the agent's try: a write that fails here is an outage, never the agent's failure.
  await end(deps, job.data, dispatch, stepEnd);
}

/**
 * Ends the step once (a second worker that ran it after a stall finds the end taken), then wakes the run. Agents
 * that finish together wake it together: the job id is per step, and a pass that finds nothing new writes nothing.
 */
async function end(deps: EngineDeps, job: AgentJob, dispatch: AgentDispatch, stepEnd: StepEnd): Promise<void> {
  const retry = job.retry ? { retry: job.retry } : {};
  await deps.engineStore.append([{ kind: 'end', runId: job.runId, stepId: job.stepId, end: stepEnd, ...retry }]);
  deps.failpoints.hit(`agent-journaled:${dispatch.name}`);
  await deps.queues.enqueuePass(job.runId, job.retry ? `s${dispatch.seq}-r${job.retry}` : `s${dispatch.seq}`);
}

/**
 * The version of the agent as this step ran it: with the model its calls went to, which configuration may have chosen
 * over the agent's own (the runtime journals it on every model call). A step that made no call hashes the agent's own.
 */
function versionRun(agent: Agent<unknown, unknown>, calls: BufferedCallLog): string {
  const model = calls.modelCalls().find((c) => c.agent === agent.name)?.model;
  return agentVersion(agent, model);
}

/** The calls with the ids to store them under, so copying them twice changes nothing. */
function logsOf(calls: BufferedCallLog): CallLogs {
  return {
    modelCalls: calls.modelCalls(),
    toolCalls: calls.toolCalls().map((c) => ({ ...c, _id: new Types.ObjectId() })),
  };
}

/** Jobs queued by an older release, or restored by the reconciler, are read from the journal. */
async function dispatchOf(deps: EngineDeps, runId: string, stepId: string): Promise<AgentDispatch | null> {
  const journal = await deps.engineStore.loadJournal(runId);
  const step = journal.steps.get(stepId);
  if (step?.kind !== 'agent') return null;
  return dispatchOfStep(step, journal.start?.workflow);
}

/** What the reconciler re-dispatches an agent step with. */
export function dispatchOfStep(step: StepDoc, workflow: string | undefined): AgentDispatch {
  return { name: step.name, input: step.input, seq: step.seq, ...(workflow ? { workflow } : {}) };
}

/** BullMQ backoff: what the model asked for (Retry-After) when it said, else exponential from the base. */
export function agentBackoff(baseMs: number) {
  return (attemptsMade: number, _type: string | undefined, err: Error | undefined): number => {
    if (err instanceof Retryable && err.retryAfterMs !== undefined) return err.retryAfterMs;
    return baseMs * 2 ** Math.max(0, attemptsMade - 1);
  };
}
