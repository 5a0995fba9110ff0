import { setMaxListeners } from 'node:events';
import { type ConnectionOptions, type Job, Worker } from 'bullmq';
import type { CheckpointDoc } from '../store/models.js';
import { agentBackoff, handleAgentJob } from './agent-job.js';
import type { EngineDeps } from './deps.js';
import { runPass } from './pass.js';
import { type AgentJob, type NotifyJob, QUEUE_NAMES, type RunJob } from './queues.js';
import { reconcile } from './reconciler.js';
import { runTimers } from './timers.js';

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

async function notifyChannels(deps: EngineDeps, channels: readonly CheckpointChannel[], job: NotifyJob) {
  const timerEvents = job.event === 'timer' ? await runTimers(deps, job.checkpointId) : [];
  const cp = await deps.store.checkpoints.findById(job.checkpointId).lean<CheckpointDoc>();
  if (!cp) return;
  for (const channel of channels) {
    if (job.event === 'created' && cp.status === 'pending') await channel.onCreated(cp);
    if (job.event === 'decided') await channel.onDecided(cp);
    if (job.event === 'progress' && cp.status === 'pending') await channel.onProgress?.(cp);
    for (const e of timerEvents) {
      if (e.kind === 'reminder') await channel.onReminder?.(cp, e.n);
      if (e.kind === 'escalated') await channel.onEscalated?.(cp);
    }
  }
}

export function startWorkers(deps: EngineDeps, options: WorkerOptions): RunningWorkers {
  const connection = deps.queues.connection.duplicate() as ConnectionOptions;
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
  const runs = new Worker<RunJob>(QUEUE_NAMES.runs, (job: Job<RunJob>) => runPass(deps, job.data.runId), common);
  const agents = new Worker<AgentJob>(
    QUEUE_NAMES.agents,
    (job: Job<AgentJob>) => handleAgentJob(deps, job, aborts.signal),
    {
      ...common,
      settings: { backoffStrategy: agentBackoff(deps.settings.agentBackoffMs) },
    },
  );
  const notify = new Worker<NotifyJob>(
    QUEUE_NAMES.notify,
    (job: Job<NotifyJob>) => notifyChannels(deps, options.channels, job.data),
    common,
  );
  for (const w of [runs, agents, notify]) {
    w.on('failed', (job, err) => deps.logger.warn({ queue: w.name, jobId: job?.id, err: err.message }, 'job failed'));
    w.on('error', (err) => deps.logger.error({ queue: w.name, err: err.message }, 'worker error'));
  }
  const reconcileNow = async () => {
    try {
      await reconcile(deps);
    } catch (err) {
      deps.logger.error({ err: (err as Error).message }, 'reconcile failed');
    }
  };
  void reconcileNow();
  const timer = setInterval(() => void reconcileNow(), deps.settings.reconcileIntervalMs);
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
