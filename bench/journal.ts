import type { mongo } from 'mongoose';
import type { BenchApp } from './harness.js';

/** A step as the bench reads it from the journal: when it started and ended. */
export interface StepTimes {
  runId: string;
  stepId: string;
  /** `startedAt` of the step or of its end record, else when the step was written. */
  startedAt: number;
  /** `finishedAt` of its end record, or of the step itself (older layout). */
  finishedAt: number;
}

/** Record kinds that are not steps (see src/engine/store-port.ts): a step's end carries its times. */
const END = 'end';
const NOT_STEPS = new Set(['start', 'attempt', 'pass', 'pass-end']);

const ms = (v: unknown): number => (v instanceof Date ? v.getTime() : Number.NaN);

/**
 * Steps matching `filter` (on `runId` / `stepId`), their end records folded in, read raw on the bench connection:
 * the journal appends a `<step>#end` record where it once updated the step, and the bench must read both layouts.
 */
export async function stepTimes(b: BenchApp, filter: mongo.Filter<mongo.Document>): Promise<StepTimes[]> {
  const db = b.observer.connection.db;
  if (!db) throw new Error('the bench connection has no database');
  const docs = await db.collection(b.app.store.steps.collection.collectionName).find(filter).toArray();
  const steps = new Map<string, mongo.Document>();
  const ends = new Map<string, mongo.Document>();
  for (const d of docs) {
    const key = `${String(d.runId)}/${String(d.stepId)}`;
    if (d.kind === END) ends.set(key, d);
    else if (!NOT_STEPS.has(String(d.kind))) steps.set(key, d);
  }
  return [...steps].map(([key, s]) => {
    const end = ends.get(key);
    const started = ms(s.startedAt);
    const endStarted = ms(end?.startedAt);
    return {
      runId: String(s.runId),
      stepId: String(s.stepId),
      startedAt: Number.isFinite(started) ? started : Number.isFinite(endStarted) ? endStarted : ms(s.createdAt),
      finishedAt: end ? ms(end.finishedAt) : ms(s.finishedAt),
    };
  });
}
