import type { mongo } from 'mongoose';
import type { BenchApp } from './harness.js';
import { counter, note } from './progress.js';
import type { PhaseResult, Row } from './report-types.js';
import { count, fmt, percentile } from './stats.js';

/** A journal-sized document: what the engine's `steps` collection mostly holds. */
interface ScratchDoc {
  _id: string;
  runId: string;
  stepId: string;
  status: string;
  seq: number;
  result: { text: string };
  createdAt: Date;
}

const FILL_BATCH = 1_000;
/** Above this a single operation takes seconds on FerretDB/SQLite: fewer samples, so one size costs under a minute. */
const OP_BUDGET_MS = 15_000;

const OPS = ['insert', 'findById', 'indexed query', 'conditional updateOne', 'deleteOne by id'] as const;
type Op = (typeof OPS)[number];

const docAt = (i: number, now: Date): ScratchDoc => ({
  _id: `run_${String(Math.floor(i / 10)).padStart(8, '0')}/step-${i % 10}`,
  runId: `run_${String(Math.floor(i / 10)).padStart(8, '0')}`,
  stepId: `step-${i % 10}`,
  status: 'done',
  seq: i % 10,
  result: { text: 'x'.repeat(200) },
  createdAt: now,
});

async function fill(scratch: mongo.Collection<ScratchDoc>, from: number, to: number): Promise<void> {
  const progress = counter('scratch documents', to);
  const now = new Date();
  for (let i = from; i < to; i += FILL_BATCH) {
    const docs = Array.from({ length: Math.min(FILL_BATCH, to - i) }, (_, k) => docAt(i + k, now));
    await scratch.insertMany(docs, { ordered: false });
    progress.update(i + docs.length);
  }
  progress.end(`${to} documents`);
}

/** Times `op` up to `samples` times, but stops after OP_BUDGET_MS once it has three samples. */
async function timed(samples: number, op: (k: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  const started = Date.now();
  for (let k = 0; k < samples && (k < 3 || Date.now() - started < OP_BUDGET_MS); k++) {
    const t0 = process.hrtime.bigint();
    await op(k);
    out.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return out;
}

/** One size: the five operations the engine's store port is made of, each on its own documents. */
async function measureAt(
  scratch: mongo.Collection<ScratchDoc>,
  size: number,
  samples: number,
): Promise<Map<Op, number[]>> {
  const now = new Date();
  const pick = (k: number) => docAt((k * 7919) % size, now);
  const extra = (k: number) => ({ ...docAt(size + k, now), _id: `extra_${size}_${k}` });
  const times = new Map<Op, number[]>();
  times.set('insert', await timed(samples, (k) => scratch.insertOne(extra(k))));
  const inserted = times.get('insert')?.length ?? 0;
  times.set('findById', await timed(samples, (k) => scratch.findOne({ _id: pick(k)._id })));
  times.set('indexed query', await timed(samples, (k) => scratch.find({ runId: pick(k).runId }).toArray()));
  // Conditional on the current status, as a lease or a checkpoint decision is: it matches and flips one document.
  times.set(
    'conditional updateOne',
    await timed(samples, (k) =>
      scratch.updateOne({ _id: pick(k)._id, status: 'done' }, { $set: { status: 'done', seq: k } }),
    ),
  );
  // The documents the insert timing added, so the collection is back at `size` for the next operation.
  times.set('deleteOne by id', await timed(inserted, (k) => scratch.deleteOne({ _id: extra(k)._id })));
  return times;
}

/**
 * The embedded store's own costs, with no engine in between: a scratch collection shaped like the journal (indexed
 * on `runId`), filled to a small size and to the sizes `runs` and `steps` reached in this bench, and at each size the
 * p50 of insert, findById, a query on the indexed field, a conditional updateOne and a deleteOne by id. Set against
 * the engine's request counts, it tells what is the engine's cost and what is the store's. Dropped afterwards.
 */
export async function measureStoreCost(
  b: BenchApp,
  reached: { runs: number; steps: number },
  samples: number,
): Promise<PhaseResult> {
  const { runs, steps } = reached;
  const named = new Map<number, string>([[1_000, 'small']]);
  named.set(runs, named.has(runs) ? `${named.get(runs)}, runs` : '= runs');
  named.set(steps, named.has(steps) ? `${named.get(steps)}, steps` : '= steps');
  const sizes = [...named.keys()].filter((n) => n > 0).sort((a, c) => a - c);
  note(`runs holds ${runs} documents and steps ${steps}; measuring at ${sizes.join(', ')}`);
  const scratch = b.observer.connection.collection<ScratchDoc>('bench_scale');
  await scratch.drop().catch(() => {});
  await scratch.createIndex({ runId: 1 });
  const rows: Row[] = [];
  const chart: string[] = [];
  try {
    let filled = 0;
    for (const size of sizes) {
      await fill(scratch, filled, size);
      filled = size;
      const times = await measureAt(scratch, size, samples);
      const p50 = OPS.map((op) => percentile(times.get(op) ?? [], 50));
      const n = OPS.map((op) => times.get(op)?.length ?? 0);
      note(`${size} documents: ${OPS.map((op, i) => `${op} ${fmt(p50[i] ?? Number.NaN)} ms`).join(', ')}`);
      rows.push({
        metric: `Embedded store at ${count(size)} documents (${named.get(size)}): insert / findById / indexed query / conditional updateOne / deleteOne p50`,
        value: p50.map(fmt).join(' / '),
        unit: 'ms',
        notes: `scratch collection shaped like steps, index on runId, bench connection, app workers stopped; samples ${n.join('/')}`,
      });
      chart.push(
        `${count(size).padStart(9)} docs │ ${OPS.map((op, i) => `${op} ${fmt(p50[i] ?? Number.NaN)}`).join(' · ')} ms`,
      );
    }
  } finally {
    await scratch.drop().catch(() => {});
  }
  return { rows, charts: [`Embedded store p50 by collection size (phase 8)\n${chart.join('\n')}\n`] };
}
