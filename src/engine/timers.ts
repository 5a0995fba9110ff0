import { appendAudit } from '../store/audit.js';
import type { CheckpointDoc } from '../store/models.js';
import { writeCheckpoint } from './checkpoint-write.js';
import { decide } from './decide.js';
import type { EngineDeps } from './deps.js';
import { nextDueOf } from './timer-due.js';

export type TimerEvent =
  | { kind: 'reminder'; n: number }
  | { kind: 'escalated' }
  | { kind: 'timed-out'; action: string };

function nextDue(cp: CheckpointDoc): Date | null {
  return cp.status === 'pending' ? nextDueOf(cp.timers) : null;
}

/** A delayed notify job at the next due time; the reconciler's sweep covers a lost one and a fake clock. */
export async function scheduleTimer(deps: EngineDeps, cp: CheckpointDoc): Promise<void> {
  const due = nextDue(cp);
  if (!due) return;
  const delay = Math.max(0, due.getTime() - deps.clock.now().getTime());
  await deps.queues.enqueueNotify(cp._id, 'timer', due.getTime(), delay);
}

/**
 * Takes what is due on one checkpoint, each thing exactly once: each reminder and the timeout is a claim, so two
 * workers (or a delayed job and the sweep) racing here do it once between them.
 */
export async function runTimers(deps: EngineDeps, checkpointId: string): Promise<TimerEvent[]> {
  const events: TimerEvent[] = [];
  const cp = await deps.engineStore.getCheckpoint(checkpointId);
  if (cp?.status !== 'pending' || !cp.timers) return events;
  const now = deps.clock.now();
  const t = cp.timers;

  if (t.nextReminderAt && new Date(t.nextReminderAt) <= now && t.remindersSent < (t.remindMax ?? 0)) {
    const n = t.remindersSent + 1;
    const next = n < (t.remindMax ?? 0) && t.remindEveryMs ? new Date(now.getTime() + t.remindEveryMs) : null;
    if (await deps.engineStore.claim(`timer:${cp._id}:reminder-${n}`, now)) {
      await writeCheckpoint(deps, cp._id, async (c) =>
        c.status === 'pending' ? { timers: { ...c.timers, remindersSent: n, nextReminderAt: next } } : null,
      );
      events.push({ kind: 'reminder', n });
    }
  }

  if (t.timeoutAt && new Date(t.timeoutAt) <= now && !t.timeoutFired) {
    const action = t.timeoutAction ?? 'keep-waiting';
    if (action === 'approve' || action === 'reject') {
      // decide() is itself first-wins on `pending`; the flag after it only stops later sweeps from trying again.
      await decide(deps, {
        checkpointId: cp._id,
        decision: action,
        actor: 'timeout',
        channel: 'timeout',
        comment: 'nobody decided in time',
      }).then(
        (decided) => deps.queues.enqueuePass(decided.runId, `cp-${decided._id}`),
        (err: Error) =>
          deps.logger.info({ checkpointId: cp._id, err: err.message }, 'timeout found the checkpoint decided'),
      );
      await writeCheckpoint(deps, cp._id, async (c) =>
        c.timers?.timeoutFired ? null : { timers: { ...c.timers, timeoutFired: true } },
      );
      events.push({ kind: 'timed-out', action });
    } else {
      const to = t.escalateTo ?? {};
      const first = await deps.engineStore.claim(`timer:${cp._id}:timeout`, now);
      if (first) {
        const merge = (have: string[] | undefined, add: string[] | undefined) => [
          ...new Set([...(have ?? []), ...(add ?? [])]),
        ];
        await writeCheckpoint(deps, cp._id, async (c) =>
          c.status !== 'pending'
            ? null
            : {
                timers: { ...c.timers, timeoutFired: true },
                ...(action === 'escalate' ? { escalatedAt: now } : {}),
                approvers: {
                  emails: merge(
                    c.approvers.emails,
                    (to.emails ?? []).map((e) => e.toLowerCase()),
                  ),
                  slackUsers: merge(c.approvers.slackUsers, to.slackUsers),
                  slackChannels: merge(c.approvers.slackChannels, to.slackChannels),
                  slackGroups: merge(c.approvers.slackGroups, to.slackGroups),
                },
              },
        );
        await appendAudit(deps.store, cp, {
          at: now,
          actor: 'timeout',
          channel: 'timeout',
          outcome: action === 'escalate' ? 'escalated' : 'still_waiting',
        });
        events.push(action === 'escalate' ? { kind: 'escalated' } : { kind: 'timed-out', action });
      }
    }
  }
  const after = await deps.engineStore.getCheckpoint(cp._id);
  if (after) await scheduleTimer(deps, after);
  return events;
}

/** For the reconciler: checkpoints with something due by the engine's clock, through the indexed `timers.dueAt`. */
export async function dueCheckpointIds(deps: EngineDeps, limit = 500): Promise<string[]> {
  const now = deps.clock.now();
  const due = await deps.engineStore.dueCheckpoints(now, limit);
  return due.filter((cp) => (nextDue(cp)?.getTime() ?? Infinity) <= now.getTime()).map((cp) => cp._id);
}
