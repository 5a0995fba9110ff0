import type { CheckpointTimers } from '../store/models.js';

/** The next moment a pending checkpoint's reminders or timeout need attention, if any. */
export function nextDueOf(timers: CheckpointTimers | undefined): Date | null {
  if (!timers) return null;
  const { nextReminderAt, remindersSent, remindMax, timeoutAt, timeoutFired } = timers;
  const due = [
    nextReminderAt && remindersSent < (remindMax ?? 0) ? nextReminderAt : null,
    timeoutAt && !timeoutFired ? timeoutAt : null,
  ].filter((d): d is Date => d !== null);
  return due.length > 0 ? new Date(Math.min(...due.map((d) => new Date(d).getTime()))) : null;
}

/**
 * Timers with `dueAt` kept in step with the rest: the one indexed field the reconciler asks ("what is due by
 * now?"), so its cost follows what is due, not how many checkpoints wait.
 */
export function withDueAt(timers: CheckpointTimers): CheckpointTimers {
  return { ...timers, dueAt: nextDueOf(timers) };
}
