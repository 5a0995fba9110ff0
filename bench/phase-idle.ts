import type { BenchApp } from './harness.js';
import { drained } from './harness.js';
import { counter } from './progress.js';
import { breakdown, mark, type RequestSpan, span } from './requests.js';
import { count, fmt } from './stats.js';
import { type StoreTimeReading, since } from './store-time.js';

export interface IdleResult {
  waiting: number;
  seconds: number;
  perSecond: number;
  requests: RequestSpan;
  /** Store busy time and documents read by those requests (replies received in the window). */
  store: StoreTimeReading;
  /** Reconcile intervals the window covered. */
  intervals: number;
}

/** The interval the running workers reconcile on: the app's own setting, so the window follows the default. */
const reconcileIntervalMs = (b: BenchApp): number => b.app.deps.settings.reconcileIntervalMs;

/**
 * Idle store requests: once the queues have drained, every request the app sends over two reconcile intervals
 * (so at least two reconciler passes fall inside), divided by the seconds. Nothing but the app's own timers runs.
 */
export async function measureIdle(b: BenchApp, waiting: number): Promise<IdleResult> {
  await drained(b);
  const intervalMs = reconcileIntervalMs(b);
  const windowMs = 2 * intervalMs;
  const progress = counter(`idle with ${count(waiting)} waiting runs, seconds`, Math.round(windowMs / 1000));
  const from = mark(b.requests);
  const timeFrom = b.storeTime.read();
  const started = Date.now();
  const ticker = setInterval(
    () => progress.update(Math.round((Date.now() - started) / 1000), `(${mark(b.requests) - from} requests)`),
    1_000,
  );
  await new Promise((r) => setTimeout(r, windowMs));
  clearInterval(ticker);
  const seconds = (Date.now() - started) / 1000;
  const requests = span(b.requests, from);
  const store = since(b.storeTime.read(), timeFrom);
  const perSecond = requests.total / seconds;
  progress.end(
    `${requests.total} requests in ${fmt(seconds)} s → ${fmt(perSecond)}/s; store busy ${fmt(store.busyMs / seconds)} ms/s, ${fmt(store.documents / seconds)} documents read/s`,
  );
  return { waiting, seconds, perSecond, requests, store, intervals: windowMs / intervalMs };
}

/** `steps.find 0.03/s, …`: what the idle app asks for, per second. */
export const idleBreakdown = (r: IdleResult): string =>
  r.requests.total ? breakdown(r.requests, r.seconds, 6) : 'none';
