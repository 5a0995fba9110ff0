import type { CheckpointDoc, RunDoc, StepDoc } from '../store/models.js';
import type { EngineDeps } from './deps.js';
import { jobId } from './ids.js';
import { dueCheckpointIds } from './timers.js';

export interface ReconcileReport {
  passes: number;
  agentJobs: number;
  timers: number;
  decisions: number;
}

/**
 * MongoDB is the truth; Redis only schedules. This puts back every job the journal implies and Redis lacks:
 * passes of unfinished runs, agent jobs of unfinished agent steps, timers of sleeping and retrying steps, and
 * passes for decisions whose run never heard of them. Every job id is deterministic, so running this while the
 * jobs still exist changes nothing.
 */
export async function reconcile(deps: EngineDeps): Promise<ReconcileReport> {
  const report: ReconcileReport = { passes: 0, agentJobs: 0, timers: 0, decisions: 0 };
  const now = deps.clock.now();
  const { queues, store } = deps;

  const settled = new Date(now.getTime() - deps.settings.reconcileGraceMs);
  const active = await store.runs
    .find({ status: { $in: ['queued', 'running'] }, updatedAt: { $lt: settled } })
    .lean<RunDoc[]>();
  const pending = active.length > 0 ? await runsWithPendingPass(deps) : new Set<string>();
  for (const run of active) {
    if (!pending.has(run._id)) {
      await queues.enqueuePass(run._id, `reconcile-${run.passes}`);
      report.passes++;
    }
  }

  const agentSteps = await store.steps
    .find({ kind: 'agent', status: { $in: ['queued', 'running'] } })
    .lean<StepDoc[]>();
  for (const step of agentSteps) {
    const job = await queues.agents.getJob(jobId(step.runId, step.stepId));
    if (!job || (await job.isFailed())) {
      if (job) await job.remove();
      await queues.enqueueAgent(step.runId, step.stepId, { attempts: deps.settings.agentAttempts });
      report.agentJobs++;
    }
  }

  const timed = await store.steps.find({ status: 'waiting', wakeAt: { $ne: null } }).lean<StepDoc[]>();
  for (const step of timed) {
    if (!step.wakeAt) continue;
    const tag = step.kind === 'sleep' ? `wake-${step.stepId}` : `retry-${step.stepId}-${step.attempts}`;
    if (!(await queues.runs.getJob(jobId(step.runId, tag)))) {
      await queues.enqueuePass(step.runId, tag, Math.max(0, step.wakeAt.getTime() - now.getTime()));
      report.timers++;
    }
  }

  const waitingOnPeople = await store.steps.find({ kind: 'checkpoint', status: 'waiting' }).lean<StepDoc[]>();
  if (waitingOnPeople.length > 0) {
    const decided = await store.checkpoints
      .find({
        _id: { $in: waitingOnPeople.flatMap((s) => (s.checkpointId ? [s.checkpointId] : [])) },
        status: { $in: ['approved', 'rejected'] },
      })
      .lean<CheckpointDoc[]>();
    for (const cp of decided) {
      await queues.enqueuePass(cp.runId, `cp-${cp._id}`);
      report.decisions++;
    }
  }
  for (const checkpointId of await dueCheckpointIds(deps)) {
    // A tag of its own: the timer's delayed job (same due time) may still sit in Redis, waiting for real time.
    await queues.enqueueNotify(checkpointId, 'timer', `sweep-${now.getTime()}`);
    report.timers++;
  }
  if (report.passes + report.agentJobs + report.timers + report.decisions > 0) {
    deps.logger.info(report, 'reconciler restored jobs');
  }
  return report;
}

/** One read of the runs queue instead of one per run. */
async function runsWithPendingPass(deps: EngineDeps): Promise<Set<string>> {
  const jobs = await deps.queues.runs.getJobs(['waiting', 'delayed', 'active', 'prioritized'], 0, -1);
  return new Set(jobs.flatMap((j) => (j ? [j.data.runId] : [])));
}
