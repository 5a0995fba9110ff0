import { InvalidInput, NotFound } from '../errors.js';
import { appendAudit } from '../store/audit.js';
import type { RunStatus, StepRetry } from '../store/models.js';
import { writeCheckpoint } from './checkpoint-write.js';
import type { EngineDeps } from './deps.js';
import type { Cancellation, Journal } from './store-port.js';
import type { RetryStepRequest, RunActionRequest } from './types.js';

const FINISHED: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

/** The journal claim that cancels a run; the run's passes read it with the journal (Journal.cancelled). */
const CANCEL_KEY = 'cancel';
/** The claim of a step's k-th retry: a unique insert, so two people retrying at once retry it once. */
const retryKey = (stepId: string, k: number) => `retry-${stepId}-${k}`;

/**
 * Cancels a run that has not finished. The cancellation is a claim in the run's journal (who, why, when): recorded
 * once however often it is asked for, and read by every later pass, which then replays nothing and ends the run
 * `cancelled`. Pending checkpoints are cancelled at once so nobody decides them any more, and the channels are told.
 * Agents already at work finish and are journaled; nothing runs after them. What was done before stays done.
 */
export async function cancelRun(
  deps: EngineDeps,
  req: RunActionRequest,
): Promise<{ cancelled: boolean; status: RunStatus }> {
  const run = await deps.engineStore.getRun(req.runId);
  if (!run) throw new NotFound(`no run ${req.runId}`);
  if (FINISHED.includes(run.status)) {
    // A caller may have died between cancelling a checkpoint and telling the channels, and the run ended since.
    if (run.status === 'cancelled') await retellCancelled(deps, req.runId);
    return { cancelled: false, status: run.status };
  }
  const journal = await deps.engineStore.loadJournal(req.runId);
  // The run document is written just after the journal's release: a run that has just finished may not say so yet.
  const ended = journal.lastPass?.released ? journal.lastPass.status : undefined;
  if (ended && FINISHED.includes(ended) && !journal.cancelled) return { cancelled: false, status: ended };
  const by = journal.cancelled ?? (await recordCancellation(deps, req));
  // Repeated when asked again: a caller that died after the claim left these undone.
  await cancelPendingCheckpoints(deps, journal, by, { retell: true });
  await deps.queues.enqueuePass(req.runId, 'cancel');
  deps.logger.info({ runId: req.runId, actor: by.actor }, 'run cancellation recorded');
  return { cancelled: true, status: 'cancelled' };
}

/** Inserts the cancel claim; when someone else's got there first, theirs is the cancellation. */
async function recordCancellation(deps: EngineDeps, req: RunActionRequest): Promise<Cancellation> {
  const at = deps.clock.now();
  const mine: Cancellation = { actor: req.actor, at, ...(req.reason?.trim() ? { reason: req.reason.trim() } : {}) };
  const [won] = await deps.engineStore.append([{ kind: 'claim', runId: req.runId, key: CANCEL_KEY, at, intent: mine }]);
  if (won) return mine;
  const theirs = await deps.engineStore.journalClaim(req.runId, CANCEL_KEY);
  return (theirs?.intent as Cancellation | undefined) ?? mine;
}

/**
 * Cancels the run's pending checkpoints, each through its version claim (a decision racing this one either wins,
 * and the checkpoint stays decided, or finds it cancelled and is refused), with an audit line naming who cancelled,
 * and tells the channels (Slack's card says it was cancelled and loses its buttons). Also called by the pass that
 * ends the run, for a checkpoint created while the cancellation was being recorded. A click (`retell`) also tells
 * the channels of a checkpoint that a first caller cancelled before it died.
 */
export async function cancelPendingCheckpoints(
  deps: EngineDeps,
  journal: Journal,
  by: Cancellation,
  opts: { retell?: boolean } = {},
): Promise<void> {
  for (const { _id, status } of await deps.engineStore.checkpointsOf([journal.runId])) {
    if (status === 'cancelled' && opts.retell) await retell(deps, _id);
    if (status !== 'pending') continue;
    const written = await writeCheckpoint(deps, _id, async (cp) =>
      cp.status === 'pending' ? { status: 'cancelled' } : null,
    );
    if (!written) continue;
    await appendAudit(deps.store, written, {
      at: deps.clock.now(),
      actor: by.actor,
      channel: 'console',
      outcome: 'cancelled',
      detail: `the run was cancelled${by.reason ? `: ${by.reason}` : ''}`,
    });
    await deps.queues.enqueueNotify(written._id, 'decided');
  }
}

/**
 * On a click: tells the channels again that a checkpoint was cancelled, in case a caller died before it did. A job
 * of its own (the first may have given up and be kept under its id): telling again only updates Slack's card in
 * place, and mail sends nothing on a decision.
 */
function retell(deps: EngineDeps, checkpointId: string): Promise<void> {
  return deps.queues.enqueueNotify(checkpointId, 'decided', `retell-${deps.clock.now().getTime()}`);
}

async function retellCancelled(deps: EngineDeps, runId: string): Promise<void> {
  for (const cp of await deps.engineStore.checkpointsOf([runId]))
    if (cp.status === 'cancelled') await retell(deps, cp._id);
}

/**
 * Tries a failed step of a failed run again. The retry is a claim in the run's journal, `retry-<step>-<k>` for the
 * step's k-th retry, carrying who asked and the failure it replaces (shown on the step as `retries`): a unique insert,
 * so two clicks retry once. The journal's fold then treats the step's earlier ends and attempts as void, the next
 * pass runs or dispatches it anew (an agent under a job id of generation k, its end recorded apart as `#end-r<k>`),
 * and the run goes on from there, `running` again from that pass on.
 */
export async function retryStep(
  deps: EngineDeps,
  req: RetryStepRequest,
): Promise<{ retried: boolean; status: RunStatus }> {
  const run = await deps.engineStore.getRun(req.runId);
  if (!run) throw new NotFound(`no run ${req.runId}`);
  // Compaction removed the pass records a replay reads the run's last status from: it could not say `running` again.
  if (run.compactedAt)
    throw new InvalidInput(
      'the run ended long enough ago that its journal was compacted: its steps are not tried again (start a new run)',
    );
  const journal = await deps.engineStore.loadJournal(req.runId);
  if (journal.cancelled || run.status === 'cancelled')
    throw new InvalidInput('the run was cancelled: its steps are not tried again');
  const step = journal.steps.get(req.stepId);
  if (!step || step.kind === 'now' || step.kind === 'id')
    throw new NotFound(`run ${req.runId} has no step ${req.stepId}`);
  const retries = journal.retries?.get(req.stepId) ?? 0;
  if (req.expectedRetries !== undefined && req.expectedRetries !== retries)
    throw new InvalidInput(
      `step ${req.stepId} was retried by someone else since you looked (retry ${retries}): look at the run again`,
    );
  const failed = run.status === 'failed' || journal.lastPass?.status === 'failed';
  if (step.status !== 'failed') {
    // Retried already, and no pass has run it yet (a second click, or a caller that died before queuing the pass).
    if (failed && journal.rerun?.has(req.stepId)) {
      await deps.queues.enqueuePass(req.runId, `rerun-${req.stepId}-${retries}`);
      return { retried: false, status: 'running' };
    }
    throw new InvalidInput(
      `step ${req.stepId} has not failed (it is ${step.status}): only a failed step is tried again`,
    );
  }
  if (!failed) throw new InvalidInput(`the run is ${run.status}, not failed: only a failed run's step is tried again`);
  if (step.kind !== 'step' && step.kind !== 'agent')
    throw new InvalidInput(`step ${req.stepId} is a ${step.kind}: only steps and agents are tried again`);
  const k = retries + 1;
  const at = deps.clock.now();
  const intent: StepRetry & { stepId: string } = {
    stepId: req.stepId,
    retry: k,
    actor: req.actor,
    at,
    ...(req.reason?.trim() ? { reason: req.reason.trim() } : {}),
    failed: { error: step.error ?? null, attempts: step.attempts, finishedAt: step.finishedAt ?? null },
  };
  const [won] = await deps.engineStore.append([
    { kind: 'claim', runId: req.runId, key: retryKey(req.stepId, k), at, intent },
  ]);
  // The loser of two clicks queues the same pass as the winner (one job id): the retry happens once.
  await deps.queues.enqueuePass(req.runId, `rerun-${req.stepId}-${k}`);
  if (won) deps.logger.info({ runId: req.runId, stepId: req.stepId, retry: k, actor: req.actor }, 'step retried');
  return { retried: won === true, status: 'running' };
}
