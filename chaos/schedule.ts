import { between, pick, type Random, seededRandom } from './random.js';

export type Fault =
  /** Which worker: the driver picks with the same random. */
  | { kind: 'kill-worker'; at: number }
  | { kind: 'stop-store'; at: number; durationMs: number }
  | { kind: 'restart-redis'; at: number; how: 'kill' | 'term' }
  | {
      kind: 'proxy-faults';
      at: number;
      durationMs: number;
      target: 'mongo' | 'redis';
      latencyMs: { min: number; max: number };
      cutRate: number;
    }
  | { kind: 'cut-connections'; at: number; target: 'mongo' | 'redis' };

export interface ScheduleOptions {
  /** Faults happen in [0, durationMs): outages and proxy episodes after the first 5 %, nothing in the last 10 %. */
  durationMs: number;
  /** Mean gap between worker kills, jittered ±50 %; 0 for none. */
  killEveryMs: number;
  /** Store outages, each storeStopMs long, never overlapping each other or a Redis restart. */
  storeStops: number;
  storeStopMs: number;
  redisRestarts: number;
  /** Latency and cut episodes per proxy target. */
  proxyEpisodes: number;
  /** Cut probability per forwarded chunk during an episode (e.g. 0.002). */
  cutRate: number;
  /** Moments every open connection of a target is cut, per target; defaults to proxyEpisodes. */
  connectionCuts?: number;
}

const QUIET_TAIL = 0.1;
/** Outages and proxy episodes wait this share of the run, so they hit runs in flight rather than an idle app. */
const LEAD_IN = 0.05;
/** Room kept for a Redis restart (stop, AOF load, clients reconnecting) before another outage may start. */
const REDIS_RESTART_WINDOW_MS = 5_000;
/** Between two outages: time for the app to recover, so each outage is seen on its own. */
const OUTAGE_GAP_MS = 2_000;
const EPISODE_MS = { min: 2_000, max: 8_000 };
const EPISODE_GAP_MS = 1_000;
const TARGETS = ['mongo', 'redis'] as const;

/** The fault timeline for a seed: sorted by `at`; the same seed and options give the same list. */
export function faultSchedule(seed: number, o: ScheduleOptions): Fault[] {
  const random = seededRandom(seed);
  const quietFrom = Math.floor(o.durationMs * (1 - QUIET_TAIL));
  const window = { from: Math.ceil(o.durationMs * LEAD_IN), to: quietFrom };
  const faults: Fault[] = [];

  if (o.killEveryMs > 0) {
    for (let at = jittered(random, o.killEveryMs); at < quietFrom; at += jittered(random, o.killEveryMs)) {
      faults.push({ kind: 'kill-worker', at: Math.floor(at) });
    }
  }

  const outages = [
    ...Array.from({ length: o.storeStops }, () => ({ kind: 'stop-store' as const, lengthMs: o.storeStopMs })),
    ...Array.from({ length: o.redisRestarts }, () => ({
      kind: 'restart-redis' as const,
      lengthMs: REDIS_RESTART_WINDOW_MS,
    })),
  ];
  const outageStarts = placeApart(
    random,
    outages.map((x) => x.lengthMs),
    OUTAGE_GAP_MS,
    window,
    'store stops and redis restarts',
  );
  outages.forEach((outage, i) => {
    const at = outageStarts[i]!;
    faults.push(
      outage.kind === 'stop-store'
        ? { kind: 'stop-store', at, durationMs: o.storeStopMs }
        : { kind: 'restart-redis', at, how: pick(random, ['kill', 'term'] as const) },
    );
  });

  for (const target of TARGETS) {
    const lengths = Array.from({ length: o.proxyEpisodes }, () =>
      Math.round(between(random, EPISODE_MS.min, EPISODE_MS.max)),
    );
    const starts = placeApart(random, lengths, EPISODE_GAP_MS, window, `${target} proxy episodes`);
    lengths.forEach((durationMs, i) => {
      const min = Math.round(between(random, 0, 5));
      const max = min + Math.round(between(random, 5, 50));
      faults.push({
        kind: 'proxy-faults',
        at: starts[i]!,
        durationMs,
        target,
        latencyMs: { min, max },
        cutRate: o.cutRate,
      });
    });
  }

  for (const target of TARGETS) {
    for (let i = 0; i < (o.connectionCuts ?? o.proxyEpisodes); i++) {
      faults.push({ kind: 'cut-connections', at: Math.floor(between(random, window.from, window.to)), target });
    }
  }

  // Array.prototype.sort is stable, and faults were pushed in an order fixed by the seed.
  return faults.sort((a, b) => a.at - b.at);
}

/** One line for the report, e.g. "  12.4 s  store stopped for 10.0 s". */
export function describeFault(f: Fault): string {
  const when = `${seconds(f.at).padStart(6)} s  `;
  switch (f.kind) {
    case 'kill-worker':
      return `${when}worker killed (SIGKILL)`;
    case 'stop-store':
      return `${when}store stopped for ${seconds(f.durationMs)} s`;
    case 'restart-redis':
      return `${when}redis restarted (${f.how === 'kill' ? 'SIGKILL' : 'SIGTERM'})`;
    case 'proxy-faults':
      return `${when}${f.target} proxy: ${f.latencyMs.min}–${f.latencyMs.max} ms latency, ${percent(f.cutRate)} of chunks cut, for ${seconds(f.durationMs)} s`;
    case 'cut-connections':
      return `${when}${f.target} proxy: every open connection cut`;
  }
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);
const percent = (rate: number) => `${Number((rate * 100).toPrecision(3))} %`;

/** A gap of mean `mean`, uniform within ±50 %. */
const jittered = (random: Random, mean: number) => between(random, mean * 0.5, mean * 1.5);

/**
 * Start times for intervals of the given lengths, in random order and at random places inside the window, at
 * least `gap` apart: the slack left after laying them end to end is cut at uniformly drawn points.
 */
function placeApart(
  random: Random,
  lengths: number[],
  gap: number,
  window: { from: number; to: number },
  what: string,
): number[] {
  if (lengths.length === 0) return [];
  const busy = lengths.reduce((sum, l) => sum + l, 0) + gap * (lengths.length - 1);
  const slack = window.to - window.from - busy;
  if (slack < 0) {
    throw new RangeError(
      `chaos schedule: ${what} need ${busy} ms but only ${window.to - window.from} ms lie between the lead-in and the quiet tail; lengthen durationMs`,
    );
  }
  const order = shuffle(
    random,
    lengths.map((_, i) => i),
  );
  const offsets = lengths.map(() => random() * slack).sort((a, b) => a - b);
  const starts: number[] = new Array(lengths.length);
  let laidOut = window.from;
  order.forEach((index, k) => {
    starts[index] = Math.floor(offsets[k]! + laidOut);
    laidOut += lengths[index]! + gap;
  });
  return starts;
}

function shuffle<T>(random: Random, items: T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
