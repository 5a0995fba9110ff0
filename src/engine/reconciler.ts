import type { Job } from 'bullmq';
import type { CheckpointDoc } from '../store/models.js';
import { dispatchOfStep } from './agent-job.js';
import type { EngineDeps } from './deps.js';
import { agentJobId, jobId } from './ids.js';
import { dueCheckpointIds } from './timers.js';
import { type ToldEvent, toldKey } from './told.js';

export interface ReconcileReport {
  passes: number;
  agentJobs: number;
  timers: number;
  decisions: number;
  notifications: number;
  claimsSwept: number;
  runsCompacted: number;
}

/** What one worker's reconciler remembers between rounds. */
export interface ReconcilerState {
  /** Decisions before this were checked; null: check the whole look-back (at start, and every hour). */
  decisionsCheckedUntil: Date | null;
  /** Pending checkpoints created before this were checked for lost notifications; null: the whole look-back. */
  announcementsCheckedUntil: Date | null;
  lastFullCheck: number;
  lastHousekeeping: number;
  /** The checkpoint channels this worker runs (email, slack): whose deliveries it makes sure of. */
  channels: readonly string[];
}

export const newReconcilerState = (channels: readonly string[] = []): ReconcilerState => ({
  decisionsCheckedUntil: null,
  announcementsCheckedUntil: null,
  lastFullCheck: 0,
  lastHousekeeping: 0,
  channels,
});

const PAGE = 200;
const HOUR = 3_600_000;
/** How far before its last bound each round looks again, for documents written after the time they carry. */
const LATE_WRITES_MS = 5 * 60_000;

/**
 * MongoDB is the truth; Redis only schedules. This puts back every job the journal implies and Redis lacks, asking
 * the store only for what is due, through indexed fields and in pages, so its cost follows the work in flight and
 * not the number of runs waiting for people:
 * - runs `queued`/`running` (few: those in flight) without a pending pass: their unfinished agent steps get their
 *   job back (missing, failed, or completed without the step's end), otherwise the run gets a pass;
 * - step timers (sleeps, retries, wait timeouts) due by now, from their own small collection;
 * - checkpoints decided since the last round whose step has not ended (the resume was lost);
 * - checkpoint reminders and timeouts due by now.
 * Every job id is deterministic, so running this while the jobs still exist changes nothing. Housekeeping (claims,
 * finished runs' lease records) runs at most hourly.
 */
export async function reconcile(deps: EngineDeps, state = newReconcilerState()): Promise<ReconcileReport> {
  const report: ReconcileReport = {
    passes: 0,
    agentJobs: 0,
    timers: 0,
    decisions: 0,
    notifications: 0,
    claimsSwept: 0,
    runsCompacted: 0,
  };
  const now = deps.clock.now();
  const settled = now.getTime() - deps.settings.reconcileGraceMs;
  await restoreRunsInFlight(deps, settled, report);
  await restoreStepTimers(deps, now, report);
  const full = state.decisionsCheckedUntil === null || Date.now() - state.lastFullCheck >= HOUR;
  await restoreDecisions(deps, state, now, full, report);
  await restoreAnnouncements(deps, state, now, full, report);
  if (full) state.lastFullCheck = Date.now();
  for (const checkpointId of await dueCheckpointIds(deps)) {
    // A tag of its own: the timer's delayed job (same due time) may still sit in Redis, waiting for real time.
    await deps.queues.enqueueNotify(checkpointId, 'timer', `sweep-${now.getTime()}`);
    report.timers++;
  }
  if (Date.now() - state.lastHousekeeping >= HOUR) {
    state.lastHousekeeping = Date.now();
    report.claimsSwept = await deps.engineStore.sweepClaims(new Date(now.getTime() - deps.settings.claimRetentionMs));
    report.runsCompacted = await deps.engineStore.compactFinishedRuns(
      new Date(now.getTime() - deps.settings.journalRetentionMs),
      1_000,
    );
  }
  const restored = report.passes + report.agentJobs + report.timers + report.decisions + report.notifications;
  for (const kind of ['passes', 'agentJobs', 'timers', 'decisions', 'notifications'] as const) {
    if (report[kind] > 0) deps.metrics.reconcilerRestored.inc({ kind }, report[kind]);
  }
  if (restored > 0) deps.logger.info(report, 'reconciler restored jobs');
  return report;
}

async function restoreRunsInFlight(deps: EngineDeps, settled: number, report: ReconcileReport) {
  const { queues, engineStore } = deps;
  let pending: Set<string> | undefined;
  for (let after = ''; ; ) {
    const runs = await engineStore.runsInStatus(['queued', 'running'], after, PAGE);
    if (runs.length === 0) break;
    after = runs[runs.length - 1]?._id ?? after;
    // One read of the runs queue for the whole round instead of one per run.
    pending ??= await runsWithPendingPass(deps);
    const quiet = runs.filter((r) => !pending?.has(r._id));
    if (quiet.length === 0) continue;
    const journals = await engineStore.loadJournals(quiet.map((r) => r._id));
    for (const journal of journals.values()) {
      const last = journal.lastPass;
      if (last && !last.released && last.until.getTime() > deps.clock.now().getTime()) continue; // a pass is at work
      let waitingOnAgents = false;
      for (const step of journal.steps.values()) {
        // A cancelled run needs only the pass that ends it; a retried step not dispatched again yet, a pass to do so.
        if (journal.cancelled || journal.rerun?.has(step.stepId)) continue;
        if (step.kind !== 'agent' || journal.ended.has(step.stepId)) continue;
        const job = await queues.agents.getJob(agentJobId(step.runId, step.stepId, step.retry));
        const state = job ? await job.getState() : 'missing';
        if (state === 'waiting' || state === 'active' || state === 'delayed' || state === 'prioritized') {
          waitingOnAgents = true;
          continue;
        }
        if (new Date(step.createdAt).getTime() > settled) {
          waitingOnAgents = true;
          continue;
        }
        // Missing (Redis lost it), failed, or completed without the step's end (its write failed): run it again;
        // its end is a unique insert, so a second finish changes nothing.
        await job?.remove().catch(() => {});
        await queues.enqueueAgent(step.runId, step.stepId, {
          attempts: deps.settings.agentAttempts,
          dispatch: dispatchOfStep(step, journal.start?.workflow),
          ...(step.retry ? { retry: step.retry } : {}),
        });
        deps.logger.info({ runId: step.runId, stepId: step.stepId, job: state }, 'reconciler restored an agent step');
        report.agentJobs++;
        waitingOnAgents = true;
      }
      if (waitingOnAgents) continue;
      await queues.enqueuePass(journal.runId, `reconcile-${last?.gen ?? 0}`);
      report.passes++;
    }
    if (runs.length < PAGE) break;
  }
}

async function restoreStepTimers(deps: EngineDeps, now: Date, report: ReconcileReport) {
  const due = await deps.engineStore.dueWakeups(now, 1_000);
  if (due.length === 0) return;
  const journals = await deps.engineStore.loadJournals([...new Set(due.map((w) => w.runId))]);
  const done: { runId: string; stepId: string }[] = [];
  for (const w of due) {
    const journal = journals.get(w.runId);
    // A cancelled run's timers have nothing left to wake.
    if (journal?.cancelled) {
      done.push(w);
      continue;
    }
    const step = journal?.steps.get(w.stepId);
    // The step ended or no longer waits on a timer: this wake-up has nothing left to do. A step not in the journal
    // yet may be a pass's write still on its way: give it the grace first.
    const gone = !step && w.wakeAt.getTime() < now.getTime() - deps.settings.reconcileGraceMs;
    if (gone || (step && (step.status === 'completed' || step.status === 'failed' || !step.wakeAt))) {
      done.push(w);
      continue;
    }
    if (!step) continue;
    if (!(await deps.queues.runs.getJob(jobId(w.runId, w.tag)))) {
      await deps.queues.enqueuePass(w.runId, w.tag);
      report.timers++;
    }
  }
  await deps.engineStore.dropWakeups(done);
}

async function restoreDecisions(
  deps: EngineDeps,
  state: ReconcilerState,
  now: Date,
  full: boolean,
  report: ReconcileReport,
) {
  // A decision's time is when it was made, and its write can land later (a claim rolled forward after its writer
  // died, an outage between the two): each round looks back a while before its last bound, so a late write is
  // still found within minutes, not at the next full look-back.
  const since = full
    ? new Date(now.getTime() - deps.settings.journalRetentionMs)
    : new Date((state.decisionsCheckedUntil ?? new Date(0)).getTime() - LATE_WRITES_MS);
  // Decisions younger than the grace are still being resumed by the process that made them.
  const before = new Date(now.getTime() - deps.settings.reconcileGraceMs);
  for (let after = ''; ; ) {
    const decided = await deps.engineStore.decidedCheckpoints(since, before, after, PAGE);
    if (decided.length === 0) break;
    after = decided[decided.length - 1]?._id ?? after;
    const ended = await deps.engineStore.endedSteps(decided.map((c) => ({ runId: c.runId, stepId: c.stepId })));
    for (const cp of decided) {
      if (ended.has(`${cp.runId}/${cp.stepId}`)) continue;
      await deps.queues.enqueuePass(cp.runId, `cp-${cp._id}`);
      deps.logger.info({ runId: cp.runId, checkpointId: cp._id }, 'reconciler resumed a decided checkpoint');
      report.decisions++;
    }
    report.notifications += await restoreDeliveries(deps, state, decided, 'decided');
    if (decided.length < PAGE) break;
  }
  state.decisionsCheckedUntil = before;
}

/** Pending checkpoints created since the last round whose people some channel has not told yet. */
async function restoreAnnouncements(
  deps: EngineDeps,
  state: ReconcilerState,
  now: Date,
  full: boolean,
  report: ReconcileReport,
) {
  if (state.channels.length === 0) return;
  const since =
    full || state.announcementsCheckedUntil === null
      ? new Date(now.getTime() - deps.settings.journalRetentionMs)
      : new Date(state.announcementsCheckedUntil.getTime() - LATE_WRITES_MS);
  const before = new Date(now.getTime() - deps.settings.reconcileGraceMs);
  for (let after = ''; ; ) {
    const pending = await deps.engineStore.pendingCheckpoints(since, before, after, PAGE);
    if (pending.length === 0) break;
    after = pending[pending.length - 1]?._id ?? after;
    report.notifications += await restoreDeliveries(deps, state, pending, 'created');
    if (pending.length < PAGE) break;
  }
  state.announcementsCheckedUntil = before;
}

/**
 * Puts back the channel deliveries of `event` that no channel recorded (told.ts) and no job is working on: the
 * parent job fans out to one job per channel, so a parent still queued will do it, and a channel's job still
 * waiting, retrying or running will too. A channel job that gave up is replaced; its channel delivers once per key.
 */
async function restoreDeliveries(
  deps: EngineDeps,
  state: ReconcilerState,
  checkpoints: readonly CheckpointDoc[],
  event: ToldEvent,
): Promise<number> {
  if (state.channels.length === 0 || checkpoints.length === 0) return 0;
  const wanted = checkpoints.flatMap((cp) =>
    state.channels.map((channel) => ({ cp, channel, runId: cp.runId, key: toldKey(cp._id, event, channel) })),
  );
  const told = await deps.engineStore.journalClaimsHeld(wanted);
  let restored = 0;
  for (const { cp, channel, runId, key } of wanted) {
    if (told.has(`${runId}/${key}`)) continue;
    const parentId = jobId(cp._id, event);
    if (await isAtWork(await deps.queues.notify.getJob(parentId))) continue;
    const child = await deps.queues.notify.getJob(jobId(parentId, event, channel));
    if (await isAtWork(child)) continue;
    await child?.remove().catch(() => {});
    await deps.queues.enqueueChannelNotify(parentId, { checkpointId: cp._id, event, channel });
    deps.logger.info({ checkpointId: cp._id, event, channel }, 'reconciler restored a notification');
    restored++;
  }
  return restored;
}

async function isAtWork(job: Job | undefined): Promise<boolean> {
  if (!job) return false;
  return !['completed', 'failed', 'unknown'].includes(await job.getState());
}

/** One read of the runs queue instead of one per run. */
async function runsWithPendingPass(deps: EngineDeps): Promise<Set<string>> {
  const jobs = await deps.queues.runs.getJobs(['waiting', 'delayed', 'active', 'prioritized'], 0, -1);
  return new Set(jobs.flatMap((j) => (j ? [j.data.runId] : [])));
}
