import type { EventEmitter } from 'node:events';
import type { Dependency } from './infra-errors.js';
import { infrastructureFault } from './infra-errors.js';

export type { Dependency } from './infra-errors.js';

const DEPENDENCIES: readonly Dependency[] = ['mongo', 'redis'];

export interface DependencyState {
  up: boolean;
  /** Set while down: when this outage began. */
  downSince?: Date;
  /** Set while down: how long this outage has lasted so far. */
  downForMs?: number;
  /** The last error seen, kept after recovery so operators can read what it was. */
  lastError?: string;
}

export type DependencyStatus = Record<Dependency, DependencyState>;

export interface DependencyHealthOptions {
  /** One round trip each; resolves when the dependency answers. Called only while it is marked down. */
  pings: Record<Dependency, () => Promise<unknown>>;
  clock: { now(): Date };
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /** Counts each outage as it begins (`countersign_dependency_outages_total`). */
  onOutage?(dependency: Dependency): void;
  /** How often a dependency marked down is pinged (default 1 s). */
  probeEveryMs?: number;
  /** A ping that has not answered by then counts as failed (default 1.5 s). */
  pingTimeoutMs?: number;
}

export interface DependencyHealth {
  status(): DependencyStatus;
  /** The first dependency marked down, if any. */
  isDown(): Dependency | undefined;
  /** Marks the dependency behind `err` down when `err` is an outage; anything else is ignored. True when it was one. */
  report(err: unknown): boolean;
  /** Marks a dependency down (driver events: a connection closed, a heartbeat failed). */
  markDown(dependency: Dependency, reason: string): void;
  /** Marks a dependency up (driver events: ready, reconnected, a heartbeat answered). */
  markUp(dependency: Dependency): void;
  /** Pings every dependency marked down once, now; the timer does the same every `probeEveryMs`. */
  probe(): Promise<void>;
  /**
   * Pings every dependency now, marks each by its answer, and names the first that did not answer. For an error
   * nobody recognised: if the store or Redis does not answer either, the error was most likely the outage.
   */
  verify(): Promise<Dependency | undefined>;
  /** Follows an emitter's events: each `down` event marks the dependency down, each `up` event marks it up. */
  watch(
    dependency: Dependency,
    emitter: EventEmitter,
    events: { down: readonly string[]; up: readonly string[] },
  ): void;
  /** Stops probing and lets go of every emitter watched, so a shutdown's own disconnects are not taken for outages. */
  close(): void;
}

interface Outage {
  since: Date;
}

const messageOf = (err: unknown): string => {
  // The MongoClient's heartbeat events carry the error as `failure`.
  const failure = typeof err === 'object' && err !== null && 'failure' in err ? err.failure : err;
  const text = failure instanceof Error ? failure.message : typeof failure === 'string' ? failure : 'unreachable';
  // Connection errors can echo a URI; credentials in it must not reach logs, /healthz or /metrics.
  return text.replace(/\/\/[^@/\s]*@/g, '//***@').slice(0, 200);
};

/**
 * Whether MongoDB and Redis are reachable, learned without asking on every request: from the drivers' events,
 * from errors the request and job paths meet (`report`), and, while a dependency is marked down, from a ping every
 * second that marks it up as soon as it answers. The HTTP layer refuses at once while one is down instead of
 * letting every request wait out a driver timeout; /healthz and /metrics say which and since when.
 */
export function createDependencyHealth(o: DependencyHealthOptions): DependencyHealth {
  const probeEveryMs = o.probeEveryMs ?? 1_000;
  const pingTimeoutMs = o.pingTimeoutMs ?? 1_500;
  const outages = new Map<Dependency, Outage>();
  const lastErrors = new Map<Dependency, string>();
  const pinging = new Set<Dependency>();
  const detachers: (() => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;

  const schedule = () => {
    if (timer || closed || outages.size === 0) return;
    timer = setInterval(() => void probe(), probeEveryMs);
    // A monitor must never be what keeps a process alive.
    timer.unref();
  };
  const stopTimerIfHealthy = () => {
    if (outages.size > 0 || !timer) return;
    clearInterval(timer);
    timer = undefined;
  };

  function markDown(dependency: Dependency, reason: string) {
    if (closed) return;
    lastErrors.set(dependency, reason);
    if (outages.has(dependency)) return;
    outages.set(dependency, { since: o.clock.now() });
    o.onOutage?.(dependency);
    o.logger.warn({ dependency, err: reason }, `${dependency} unreachable`);
    schedule();
  }

  function markUp(dependency: Dependency) {
    if (closed) return;
    const outage = outages.get(dependency);
    if (!outage) return;
    outages.delete(dependency);
    const downForMs = o.clock.now().getTime() - outage.since.getTime();
    o.logger.info(
      { dependency, downForMs, downSince: outage.since.toISOString() },
      `${dependency} reachable again after ${Math.round(downForMs / 100) / 10} s`,
    );
    stopTimerIfHealthy();
  }

  /** One ping with a deadline; resolves to the failure's message, or undefined when it answered. */
  async function ping(dependency: Dependency): Promise<string | undefined> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        o.pings[dependency](),
        new Promise<never>((_, reject) => {
          timeout = setTimeout(() => reject(new Error(`no answer within ${pingTimeoutMs} ms`)), pingTimeoutMs);
        }),
      ]);
      return undefined;
    } catch (err) {
      return messageOf(err);
    } finally {
      clearTimeout(timeout);
    }
  }

  async function pingOnce(dependency: Dependency): Promise<void> {
    if (pinging.has(dependency)) return; // the last ping is still out; one at a time
    pinging.add(dependency);
    try {
      const failure = await ping(dependency);
      if (failure === undefined) markUp(dependency);
      else if (outages.has(dependency)) lastErrors.set(dependency, failure);
    } finally {
      pinging.delete(dependency);
    }
  }

  async function verify(): Promise<Dependency | undefined> {
    const failures = await Promise.all(DEPENDENCIES.map(ping));
    DEPENDENCIES.forEach((d, i) => {
      const failure = failures[i];
      if (failure === undefined) markUp(d);
      else markDown(d, failure);
    });
    return DEPENDENCIES.find((_, i) => failures[i] !== undefined);
  }

  async function probe(): Promise<void> {
    await Promise.all([...outages.keys()].map(pingOnce));
  }

  return {
    status() {
      const now = o.clock.now().getTime();
      const state = (d: Dependency): DependencyState => {
        const outage = outages.get(d);
        const lastError = lastErrors.get(d);
        const base = lastError === undefined ? {} : { lastError };
        if (!outage) return { up: true, ...base };
        return { up: false, downSince: outage.since, downForMs: Math.max(0, now - outage.since.getTime()), ...base };
      };
      return { mongo: state('mongo'), redis: state('redis') };
    },
    isDown() {
      return DEPENDENCIES.find((d) => outages.has(d));
    },
    report(err) {
      const fault = infrastructureFault(err);
      if (!fault) return false;
      markDown(fault.dependency, messageOf(fault.message));
      return true;
    },
    markDown: (dependency, reason) => markDown(dependency, messageOf(reason)),
    markUp,
    probe,
    verify,
    watch(dependency, emitter, events) {
      const down = (err?: unknown) => markDown(dependency, err === undefined ? 'connection closed' : messageOf(err));
      const up = () => markUp(dependency);
      for (const e of events.down) emitter.on(e, down);
      for (const e of events.up) emitter.on(e, up);
      detachers.push(() => {
        for (const e of events.down) emitter.off(e, down);
        for (const e of events.up) emitter.off(e, up);
      });
    },
    close() {
      closed = true;
      for (const detach of detachers.splice(0)) detach();
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}

/** The events that tell a dependency went away or came back, per driver object. */
export const DRIVER_EVENTS = {
  /** A mongoose Connection: it stops and starts buffering on these. */
  mongoose: { down: ['disconnected'], up: ['connected', 'reconnected'] },
  /** The MongoClient under it: a heartbeat is a round trip to the server every `heartbeatFrequencyMS`. */
  mongoClient: { down: ['serverHeartbeatFailed'], up: ['serverHeartbeatSucceeded'] },
  /** An ioredis connection; it reconnects by itself and says `ready` when it can take commands again. */
  ioredis: { down: ['close', 'end', 'error'], up: ['ready'] },
} as const;
