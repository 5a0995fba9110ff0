import OpenAI from 'openai';
import { createAgentRunner } from '../../src/agents/runtime.js';
import type { EngineDeps, EngineSettings } from '../../src/engine/deps.js';
import { createEngine } from '../../src/engine/engine.js';
import type { Engine, RunView } from '../../src/engine/types.js';
import { type RunningWorkers, startWorkers } from '../../src/engine/workers.js';
import type { Workflow } from '../../src/engine/workflow.js';
import type { Store } from '../../src/store/models.js';
import { closeEngineDeps, testEngineDeps } from './engine-deps.js';

/**
 * The engine alone (real FerretDB/MongoDB and Redis, no channels, no agents) for workflows written in a test.
 * `restart` stops the workers and starts a new engine over the same store and queues with other settings, as a
 * redeploy with a changed configuration would.
 */
export interface EngineHarness {
  store: Store;
  deps: EngineDeps;
  engine: Engine;
  /** Moves the engine's clock (timers, timeouts) forward. */
  advance(ms: number): void;
  restart(settings: Partial<EngineSettings>): Promise<void>;
  reconcileNow(): Promise<void>;
  waitForRun(runId: string, until: (run: RunView) => boolean, timeoutMs?: number): Promise<RunView>;
  close(): Promise<void>;
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startEngineHarness(
  label: string,
  workflows: Workflow<unknown, unknown>[],
  settings: Partial<EngineSettings> = {},
): Promise<EngineHarness> {
  // No agent runs in these tests; the runner is built as the app builds it and never called.
  const client = new OpenAI({ apiKey: 'unused', baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 });
  const { deps: base, advance } = await testEngineDeps({
    label,
    workflows,
    runner: ({ store, logger }) => createAgentRunner({ client, defaultModel: 'unused', store, logger }),
    settings: { reconcileGraceMs: 0, ...settings },
  });
  const start = (deps: EngineDeps) => startWorkers(deps, { concurrency: 4, lockDurationMs: 5_000, channels: [] });
  let workers: RunningWorkers = start(base);
  const h: EngineHarness = {
    store: base.store,
    deps: base,
    engine: createEngine(base),
    advance,
    async restart(next) {
      await workers.close();
      h.deps = { ...h.deps, settings: { ...h.deps.settings, ...next } };
      h.engine = createEngine(h.deps);
      workers = start(h.deps);
    },
    reconcileNow: () => workers.reconcileNow(),
    async waitForRun(runId, until, timeoutMs = 60_000) {
      return waitFor(
        `run ${runId}`,
        async () => {
          const run = await h.engine.getRun(runId);
          return run && until(run) ? run : null;
        },
        timeoutMs,
      );
    },
    async close() {
      await workers.close();
      await closeEngineDeps(base);
    },
  };
  return h;
}

export const isWaiting = (r: RunView) => r.status === 'waiting' && r.checkpoints.some((c) => c.status === 'pending');
export const isFinished = (r: RunView) => ['completed', 'failed', 'cancelled'].includes(r.status);
