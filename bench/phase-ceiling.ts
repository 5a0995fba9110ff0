import { FlowProducer, type Job, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pool } from './harness.js';
import { counter } from './progress.js';
import type { PhaseResult } from './report-types.js';
import { fmt } from './stats.js';

export interface CeilingResult extends PhaseResult {
  flowsPerSecond: number;
}

const conn = (url: string) => new Redis(url, { maxRetriesPerRequest: null });

/**
 * Phase 5: what BullMQ alone does on this Redis for the shape of one dispute's fan-out: a parent job with three
 * children, workers that only return, the app's worker concurrency and the bench's flows in flight. Countersign's
 * runs/s divided by this says how much of the ceiling the durable engine, the store and the agents leave.
 */
export async function measureCeiling(opts: {
  redisUrl: string;
  prefix: string;
  flows: number;
  concurrency: number;
  inFlight: number;
}): Promise<CeilingResult> {
  const connections: Redis[] = [];
  const open = () => {
    const c = conn(opts.redisUrl);
    connections.push(c);
    return c;
  };
  const common = { prefix: opts.prefix, concurrency: opts.concurrency };
  let done = 0;
  let resolveAll: () => void = () => {};
  const allDone = new Promise<void>((r) => {
    resolveAll = r;
  });
  const progress = counter('flows completed', opts.flows);
  const children = new Worker('ceil-child', async (job: Job) => job.data, { ...common, connection: open() });
  const parents = new Worker('ceil-parent', async () => null, { ...common, connection: open() });
  parents.on('completed', () => {
    done++;
    if (done % 50 === 0) progress.update(done);
    if (done === opts.flows) resolveAll();
  });
  const producer = new FlowProducer({ connection: open(), prefix: opts.prefix });
  const jobOpts = { removeOnComplete: true, removeOnFail: true };
  try {
    await Promise.all([children.waitUntilReady(), parents.waitUntilReady()]);
    const started = Date.now();
    await pool(
      Array.from({ length: opts.flows }, (_, i) => i),
      opts.inFlight,
      (i) =>
        producer.add({
          name: 'parent',
          queueName: 'ceil-parent',
          data: { i },
          opts: jobOpts,
          children: [0, 1, 2].map((k) => ({ name: 'child', queueName: 'ceil-child', data: { i, k }, opts: jobOpts })),
        }),
    );
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`ceiling: ${done}/${opts.flows} flows after 300 s`)), 300_000).unref(),
    );
    await Promise.race([allDone, timeout]);
    const seconds = (Date.now() - started) / 1000;
    const flowsPerSecond = opts.flows / seconds;
    progress.end(`${opts.flows} in ${fmt(seconds)} s → ${fmt(flowsPerSecond)} flows/s`);
    return {
      flowsPerSecond,
      rows: [
        {
          metric: 'Ceiling: raw BullMQ flows per second (parent + 3 children)',
          value: fmt(flowsPerSecond),
          unit: 'flows/s',
          notes: `${opts.flows} flows, FlowProducer, ${opts.inFlight} adds in flight, workers only return, concurrency ${opts.concurrency} per queue, same Redis`,
        },
      ],
      charts: [],
    };
  } finally {
    await Promise.all([children.close(), parents.close(), producer.close()]);
    for (const c of connections) c.disconnect();
  }
}
