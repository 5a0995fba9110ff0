import type { ChaosService } from './chaos-services.js';
import type { FaultProxy } from './fault-proxy.js';
import type { AppProcesses } from './processes.js';
import { between, pick, type Random } from './random.js';
import type { FaultOutcome } from './report.js';
import { describeFault, type Fault } from './schedule.js';

export interface FaultRunner {
  /** The kinds of fault in effect right now (for the progress line and the chart). */
  active(): string[];
  /** Every scheduled fault has started and ended. */
  injected(): boolean;
  /** Waits for the faults still in effect to end, then makes sure both servers run and both proxies are clean. */
  restoreAll(): Promise<void>;
  /** Waits until every fault's recovery was measured (or its deadline passed). */
  recovered(): Promise<void>;
  outcomes(): FaultOutcome[];
}

const CLEAN = { latencyMs: { min: 0, max: 0 }, cutRate: 0 };

/**
 * Injects `schedule` from `t0`: worker kills (a replacement starts after a short delay, as a supervisor would),
 * store stops, Redis restarts, proxy episodes and connection cuts; for each, measures the time from its end until
 * /healthz answers 200 and some run moves again (or nothing is left to move).
 */
export function runFaults(o: {
  schedule: readonly Fault[];
  random: Random;
  t0: number;
  proxies: Record<'mongo' | 'redis', FaultProxy>;
  services: Record<'mongo' | 'redis', ChaosService>;
  procs: AppProcesses;
  healthy(): boolean;
  /** A number that grows whenever a run makes progress. */
  progressMark(): number;
  /** Whether any run still has work to do. */
  outstanding(): boolean;
  recoveryDeadline: number;
  log(line: string): void;
  signal?: AbortSignal;
}): FaultRunner {
  const outcomes: FaultOutcome[] = [];
  const active = new Map<FaultOutcome, string>();
  const tasks: Promise<void>[] = [];
  const recoveries: Promise<void>[] = [];
  const since = () => Date.now() - o.t0;
  const wait = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

  const measureRecovery = (outcome: FaultOutcome) => {
    const endedAt = Date.now();
    const mark = o.progressMark();
    recoveries.push(
      (async () => {
        while (Date.now() < o.recoveryDeadline && !o.signal?.aborted) {
          if (o.healthy() && (o.progressMark() > mark || !o.outstanding())) {
            outcome.recoveryMs = Date.now() - endedAt;
            return;
          }
          await wait(250);
        }
      })(),
    );
  };

  const inject = async (f: Fault, outcome: FaultOutcome) => {
    switch (f.kind) {
      case 'kill-worker': {
        const workers = o.procs.workers();
        if (workers.length === 0) {
          outcome.detail = 'no worker alive to kill';
          return;
        }
        const victim = pick(o.random, workers);
        outcome.detail = victim.name;
        await o.procs.kill(victim);
        await wait(between(o.random, 500, 2_000));
        const next = o.procs.startWorker();
        outcome.detail = `${victim.name} killed, ${next.name} started`;
        return;
      }
      case 'stop-store':
        await o.services.mongo.stop('kill');
        await wait(f.durationMs);
        await o.services.mongo.start();
        return;
      case 'restart-redis':
        await o.services.redis.restart(f.how);
        return;
      case 'proxy-faults':
        o.proxies[f.target].setFaults({ latencyMs: f.latencyMs, cutRate: f.cutRate });
        await wait(f.durationMs);
        o.proxies[f.target].setFaults(CLEAN);
        return;
      case 'cut-connections':
        outcome.detail = `${o.proxies[f.target].cutAll()} connections cut`;
        return;
    }
  };

  for (const f of o.schedule) {
    tasks.push(
      (async () => {
        await wait(o.t0 + f.at - Date.now());
        if (o.signal?.aborted) return;
        const outcome: FaultOutcome = { kind: f.kind, description: describeFault(f), startedMs: since() };
        outcomes.push(outcome);
        active.set(outcome, f.kind);
        try {
          await inject(f, outcome);
        } catch (err) {
          outcome.detail = `could not inject: ${(err as Error).message}`;
          o.log(`chaos: ${describeFault(f)} failed: ${(err as Error).message}`);
        } finally {
          active.delete(outcome);
          outcome.endedMs = since();
        }
        measureRecovery(outcome);
      })(),
    );
  }
  const all = Promise.all(tasks);
  let done = false;
  void all.then(() => {
    done = true;
  });

  return {
    active: () => [...new Set(active.values())],
    injected: () => done,
    async restoreAll() {
      await all;
      o.proxies.mongo.setFaults(CLEAN);
      o.proxies.redis.setFaults(CLEAN);
      o.proxies.mongo.setDown(false);
      o.proxies.redis.setDown(false);
      for (const s of [o.services.mongo, o.services.redis]) if (!s.running()) await s.start();
    },
    async recovered() {
      await Promise.all(recoveries);
    },
    outcomes: () => [...outcomes].sort((a, b) => a.startedMs - b.startedMs),
  };
}
