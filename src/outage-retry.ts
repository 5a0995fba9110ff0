import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { infrastructureFault, isInfrastructureError } from './infra-errors.js';

/** Outage retries wait 0.5 s, 1 s, 2 s … up to 30 s, with jitter so workers do not return in step. */
export function outageDelayMs(retries: number, random = Math.random): number {
  const base = Math.min(30_000, 500 * 2 ** Math.min(retries, 10));
  return Math.round(base * (0.5 + random() / 2));
}

export interface OutageRetryDeps {
  logger: Logger;
  health?: { report(err: unknown): boolean } | undefined;
}

/**
 * Runs a BullMQ job's work; when it meets an outage (the store or Redis unreachable, a timeout, a primary stepping
 * down), the job goes back to its queue, delayed, without counting as an attempt: a job's attempts are for its own
 * failures (a model refusing, SMTP rejecting), and an outage of any length must not use them up. When Redis itself
 * is away the job cannot be moved; its lock then lapses and BullMQ takes it up again as stalled, or the reconciler
 * puts it back from the journal.
 */
export async function outagesAreNotAttempts(
  deps: OutageRetryDeps,
  job: Job,
  token: string | undefined,
  work: () => Promise<unknown>,
): Promise<void> {
  try {
    await work();
  } catch (err) {
    const fault = infrastructureFault(err);
    if (!fault || token === undefined) throw err;
    deps.health?.report(err);
    // Starts that neither failed nor stalled were outages (a move to delayed does not count an attempt).
    const retries = Math.max(0, job.attemptsStarted - job.attemptsMade - job.stalledCounter - 1);
    const delay = outageDelayMs(retries);
    try {
      await job.moveToDelayed(Date.now() + delay, token);
    } catch {
      throw err;
    }
    deps.logger.warn(
      { queue: job.queueName, jobId: job.id, dependency: fault.dependency, err: fault.message, retryInMs: delay },
      'job met an outage; trying again without using an attempt',
    );
    throw new DelayedError();
  }
}

/**
 * For the write that records a side effect as done, after it happened (an email handed to SMTP, a Slack message
 * posted): if it fails, the effect is repeated by whoever tries the step next, so it is worth waiting out an outage
 * for, in the step, while the pass still holds its run. Retries on outages only, for at most `patienceMs` (longer
 * than most failovers and restarts, well within a run's lease being taken over), then gives up with the outage.
 */
export async function throughOutage<T>(
  work: () => Promise<T>,
  patienceMs = 20_000,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<T> {
  const deadline = Date.now() + patienceMs;
  for (let retries = 0; ; retries++) {
    try {
      return await work();
    } catch (err) {
      const delay = Math.min(outageDelayMs(retries), 2_000);
      if (!isInfrastructureError(err) || Date.now() + delay > deadline) throw err;
      await sleep(delay);
    }
  }
}
