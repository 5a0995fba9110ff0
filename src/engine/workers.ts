import { setMaxListeners } from 'node:events';
import { type ConnectionOptions, type Job, Worker } from 'bullmq';
import { outagesAreNotAttempts } from '../outage-retry.js';
import { workerRedisOptions } from '../redis-connections.js';
import type { CheckpointDoc } from '../store/models.js';
import { agentBackoff, handleAgentJob } from './agent-job.js';
import type { EngineDeps } from './deps.js';
import { runPass } from './pass.js';
import { type AgentJob, type NotifyJob, QUEUE_NAMES, type RunJob } from './queues.js';
import { newReconcilerState, reconcile } from './reconciler.js';
import { runTimers } from './timers.js';
import { recordTold } from './told.js';

/** An outbound channel that shows checkpoints to people (email, Slack) and brings its messages in line after a decision. */
export interface CheckpointChannel {
  readonly name: string;
  onCreated(checkpoint: CheckpointDoc): Promise<void>;
  onDecided(checkpoint: CheckpointDoc): Promise<void>;
  /** A partial approval toward a quorum (or its edits) was recorded. */
  onProgress?(checkpoint: CheckpointDoc): Promise<void>;
  /** The n-th reminder is due: nudge the approvers. */
  onReminder?(checkpoint: CheckpointDoc, n: number): Promise<void>;
  /** Nobody decided in time and the checkpoint was escalated (its approvers now include `timers.escalateTo`). */
  onEscalated?(checkpoint: CheckpointDoc): Promise<void>;
}

export interface WorkerOptions {
  concurrency: number;
  /** BullMQ lock; a job whose worker died is picked up again after about this long. */
  lockDurationMs: number;
  channels: readonly CheckpointChannel[];
}

export interface RunningWorkers {
  /** Stops taking jobs and waits for the ones in flight (graceful shutdown on SIGTERM). */
  close(): Promise<void>;
  reconcileNow(): Promise<void>;
}

/**
 * A notify job names an event; it fans out to one job per channel, so each channel succeeds or retries on its own
 * (an unreachable SMTP server must not keep the Slack card from being posted). Timer events are claimed here, once,
 * and only what fell due is handed to the channels.
 */
async function notifyChannels(
  deps: EngineDeps,
  channels: readonly CheckpointChannel[],
  job: NotifyJob,
  jobId: string,
): Promise<void> {
  if (job.channel !== undefined) return notifyOne(deps, channels, job);
  const due: Pick<NotifyJob, 'event' | 'n'>[] =
    job.event === 'timer'
      ? (await runTimers(deps, job.checkpointId)).flatMap((e): Pick<NotifyJob, 'event' | 'n'>[] =>
          e.kind === 'reminder'
            ? [{ event: 'reminder', n: e.n }]
            : e.kind === 'escalated'
              ? [{ event: 'escalated' }]
              : [],
        )
      : [{ event: job.event }];
  for (const e of due) {
    for (const channel of channels) {
      await deps.queues.enqueueChannelNotify(jobId, { checkpointId: job.checkpointId, ...e, channel: channel.name });
    }
  }
}

async function notifyOne(deps: EngineDeps, channels: readonly CheckpointChannel[], job: NotifyJob): Promise<void> {
  // A channel switched off since the job was queued has nobody left to tell.
  const channel = channels.find((c) => c.name === job.channel);
  const cp = channel ? await deps.engineStore.getCheckpoint(job.checkpointId) : null;
  if (!channel || !cp) return;
  if (job.event === 'created' && cp.status === 'pending') {
    await channel.onCreated(cp);
    await recordTold(deps, cp, 'created', channel.name);
  }
  if (job.event === 'decided') {
    await channel.onDecided(cp);
    await recordTold(deps, cp, 'decided', channel.name);
  }
  if (job.event === 'progress' && cp.status === 'pending') await channel.onProgress?.(cp);
  if (job.event === 'reminder' && cp.status === 'pending' && job.n !== undefined) await channel.onReminder?.(cp, job.n);
  if (job.event === 'escalated') await channel.onEscalated?.(cp);
}

export function startWorkers(deps: EngineDeps, options: WorkerOptions): RunningWorkers {
  // This process runs passes now: a decision made here may as well go on into its run's next pass (resume.ts).
  deps.settings.resumeInProcess = true;
  // Workers block on Redis and must wait out a disconnection, unlike the queues' fail-fast producer connection.
  const connection = deps.queues.connection.duplicate(workerRedisOptions) as ConnectionOptions;
  const common = {
    connection,
    prefix: deps.queues.prefix,
    concurrency: options.concurrency,
    lockDuration: options.lockDurationMs,
    stalledInterval: Math.max(1_000, Math.floor(options.lockDurationMs / 2)),
    maxStalledCount: 3,
  };
  const aborts = new AbortController();
  // Every in-flight model request listens on this one signal; the default cap of 10 would warn under load.
  setMaxListeners(0, aborts.signal);
  const runs = new Worker<RunJob>(
    QUEUE_NAMES.runs,
    (job: Job<RunJob>, token?: string) =>
      outagesAreNotAttempts(deps, job, token, async () => {
        await runPass(deps, job.data.runId, { reason: job.data.reason });
      }),
    common,
  );
  const agents = new Worker<AgentJob>(
    QUEUE_NAMES.agents,
    (job: Job<AgentJob>, token?: string) =>
      outagesAreNotAttempts(deps, job, token, () => handleAgentJob(deps, job, aborts.signal)),
    {
      ...common,
      settings: { backoffStrategy: agentBackoff(deps.settings.agentBackoffMs) },
    },
  );
  const notify = new Worker<NotifyJob>(
    QUEUE_NAMES.notify,
    (job: Job<NotifyJob>, token?: string) =>
      outagesAreNotAttempts(deps, job, token, () =>
        notifyChannels(deps, options.channels, job.data, job.id ?? job.name),
      ),
    common,
  );
  for (const w of [runs, agents, notify]) {
    w.on('failed', (job, err) => deps.logger.warn({ queue: w.name, jobId: job?.id, err: err.message }, 'job failed'));
    w.on('error', (err) => deps.logger.error({ queue: w.name, err: err.message }, 'worker error'));
  }
  const reconcilerState = newReconcilerState(options.channels.map((c) => c.name));
  // One round at a time: a caller asking for a round while one runs gets a round that starts after it.
  let round: Promise<void> = Promise.resolve();
  let queued = 0;
  const reconcileNow = () => {
    queued++;
    round = round.then(async () => {
      queued--;
      try {
        await reconcile(deps, reconcilerState);
      } catch (err) {
        deps.logger.error({ err: (err as Error).message }, 'reconcile failed');
      }
    });
    return round;
  };
  void reconcileNow();
  // A tick that finds a round still waiting to start adds none: rounds never pile up behind a slow store.
  const timer = setInterval(() => {
    if (queued === 0) void reconcileNow();
  }, deps.settings.reconcileIntervalMs);
  return {
    reconcileNow,
    async close() {
      clearInterval(timer);
      await Promise.all([runs.close(), agents.close(), notify.close()]);
      aborts.abort();
      await (connection as { quit(): Promise<unknown> }).quit().catch(() => {});
    },
  };
}
