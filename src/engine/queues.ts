import { type ConnectionOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { agentJobId, jobId } from './ids.js';

export const QUEUE_NAMES = { runs: 'runs', agents: 'agents', notify: 'notify' } as const;

export interface RunJob {
  runId: string;
  reason: string;
}
/** What an agent step was dispatched with, carried by its job so the worker need not read the journal. */
export interface AgentDispatch {
  name: string;
  input: unknown;
  seq: number;
  /** The run's workflow: it chooses the agent's provider and model. */
  workflow?: string;
}
export interface AgentJob {
  runId: string;
  stepId: string;
  /** Absent on jobs from older releases: the worker then reads the step. */
  dispatch?: AgentDispatch;
  /** The step's retry generation (a person retried it): its end and attempts are recorded under it. */
  retry?: number;
}
export interface NotifyJob {
  checkpointId: string;
  /**
   * `timer`: a reminder or timeout may be due (the job runs the checkpoint's timers; see timers.ts). `reminder` and
   * `escalated` exist only on per-channel jobs, for what a timer job found due.
   */
  event: 'created' | 'decided' | 'progress' | 'timer' | 'reminder' | 'escalated';
  /**
   * Set on the per-channel jobs an event fans out to, so a channel that fails (SMTP down, Slack refusing) is retried
   * on its own and never holds back the others.
   */
  channel?: string;
  /** Which reminder, on `reminder`. */
  n?: number;
}

export interface Queues {
  prefix: string;
  connection: Redis;
  runs: Queue<RunJob>;
  agents: Queue<AgentJob>;
  notify: Queue<NotifyJob>;
  /** Enqueues a run pass; the same tag for the same run collapses into one job. */
  enqueuePass(runId: string, tag: string, delayMs?: number): Promise<void>;
  enqueueAgent(
    runId: string,
    stepId: string,
    opts: { attempts: number; dispatch: AgentDispatch; retry?: number },
  ): Promise<void>;
  /** `tag` tells apart repeated events of one kind (a version for progress, a due time for timers). */
  enqueueNotify(
    checkpointId: string,
    event: NotifyJob['event'],
    tag?: string | number,
    delayMs?: number,
  ): Promise<void>;
  /** One channel's share of the event that job `parentJobId` fanned out; the same share twice collapses. */
  enqueueChannelNotify(parentJobId: string, job: NotifyJob & { channel: string }): Promise<void>;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix = 'countersign'): Queues {
  const opts = { connection: connection as ConnectionOptions, prefix };
  const runs = new Queue<RunJob>(QUEUE_NAMES.runs, opts);
  const agents = new Queue<AgentJob>(QUEUE_NAMES.agents, opts);
  const notify = new Queue<NotifyJob>(QUEUE_NAMES.notify, opts);
  const keep = { removeOnComplete: true, removeOnFail: { age: 7 * 24 * 3600 } } as const;
  return {
    prefix,
    connection,
    runs,
    agents,
    notify,
    async enqueuePass(runId, tag, delayMs = 0) {
      await runs.add(
        'pass',
        { runId, reason: tag },
        {
          jobId: jobId(runId, tag),
          delay: delayMs,
          attempts: 5,
          backoff: { type: 'exponential', delay: 500 },
          removeOnComplete: true,
          removeOnFail: true,
        },
      );
    },
    async enqueueAgent(runId, stepId, { attempts, dispatch, retry }) {
      await agents.add(
        'agent',
        { runId, stepId, dispatch, ...(retry ? { retry } : {}) },
        {
          jobId: agentJobId(runId, stepId, retry),
          attempts,
          backoff: { type: 'countersign' },
          ...keep,
          removeOnFail: true,
        },
      );
    },
    async enqueueNotify(checkpointId, event, tag, delayMs = 0) {
      await notify.add(
        event,
        { checkpointId, event },
        {
          jobId: tag === undefined ? jobId(checkpointId, event) : jobId(checkpointId, `${event}-${tag}`),
          delay: delayMs,
          attempts: 8,
          backoff: { type: 'exponential', delay: 1000 },
          ...keep,
        },
      );
    },
    async enqueueChannelNotify(parentJobId, job) {
      await notify.add(job.event, job, {
        jobId: jobId(parentJobId, `${job.event}${job.n ?? ''}`, job.channel),
        attempts: 8,
        backoff: { type: 'exponential', delay: 1000 },
        ...keep,
      });
    },
    async close() {
      await Promise.all([runs.close(), agents.close(), notify.close()]);
    },
  };
}
