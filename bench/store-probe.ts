import type { Connection } from 'mongoose';
import type { Row } from './report-types.js';
import { fmt, percentile } from './stats.js';

/**
 * Round trips of the single-document conditional update the engine leans on (lease, decide), one at a time on a
 * scratch collection: the floor under every run pass, and the first thing to look at when runs/s is low.
 */
export async function probeStore(connection: Connection, samples = 200): Promise<Row> {
  const scratch = connection.collection<{ _id: string; n: number }>('bench_probe');
  await scratch.insertOne({ _id: 'probe', n: 0 });
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = process.hrtime.bigint();
    await scratch.findOneAndUpdate({ _id: 'probe', n: i }, { $inc: { n: 1 } }, { returnDocument: 'after' });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await scratch.drop();
  return {
    metric: 'Store round trip: conditional findOneAndUpdate p50 / p99',
    value: `${fmt(percentile(times, 50))} / ${fmt(percentile(times, 99))}`,
    unit: 'ms',
    notes: `${samples} sequential, app idle; a run makes dozens of these, so this sets the pace`,
  };
}
