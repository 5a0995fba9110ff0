import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import type { AgentRunner } from '../../src/agents/define.js';
import { parseEnv } from '../../src/config.js';
import type { EngineDeps } from '../../src/engine/deps.js';
import { createEngine } from '../../src/engine/engine.js';
import type { Engine, RunView } from '../../src/engine/types.js';
import { type CheckpointChannel, type RunningWorkers, startWorkers } from '../../src/engine/workers.js';
import type { Workflow } from '../../src/engine/workflow.js';
import { NonRetryable } from '../../src/errors.js';
import type { HttpRoutes } from '../../src/http/deps.js';
import { createHttpApp } from '../../src/http/server.js';
import { createMetrics } from '../../src/metrics.js';
import type { CheckpointDoc, Store } from '../../src/store/models.js';
import { testConsoleServices } from './console-services.js';
import { closeEngineDeps, testEngineDeps } from './engine-deps.js';
import { mongodbUri, redisUrl } from './env.js';

/** These workflows call no agent: a call is a bug in the test, and fails the run saying so. */
const noAgents: AgentRunner = {
  run: () => Promise.reject(new NonRetryable('the approval tests register no agents')),
};

/**
 * A real engine (FerretDB, Redis, BullMQ workers) for workflows that only wait for people, with a recorder channel
 * that keeps every checkpoint it was shown, and workers that can be stopped and started again (a crash and restart).
 */
export interface ApprovalEngine {
  store: Store;
  deps: EngineDeps;
  engine: Engine;
  /** `created:<id>`, `decided:<id>:<status>`, `progress:<id>:<n>`, in order. */
  told: string[];
  /** The checkpoint as the channels were given it when it was created. */
  shown: Map<string, CheckpointDoc>;
  /** Moves the engine's clock (delegations end, timers fall due). */
  advance(ms: number): void;
  startWorkers(): void;
  stopWorkers(): Promise<void>;
  waitFor<T>(what: () => Promise<T | undefined | null | false>, label: string): Promise<T>;
  finished(runId: string): Promise<RunView>;
  /** The pending checkpoint of `runId` named `name`, once it exists. */
  checkpoint(runId: string, name: string): Promise<CheckpointDoc>;
  close(): Promise<void>;
}

export async function startApprovalEngine(
  label: string,
  workflows: Workflow<unknown, unknown>[],
  approverEmails: string[] = [],
): Promise<ApprovalEngine> {
  const { deps, advance } = await testEngineDeps({
    label,
    workflows,
    runner: () => noAgents,
    settings: { approverEmails },
  });
  const store = deps.store;
  const engine = createEngine(deps);
  const told: string[] = [];
  const shown = new Map<string, CheckpointDoc>();
  const recorder: CheckpointChannel = {
    name: 'recorder',
    onCreated: async (cp) => {
      shown.set(cp._id, cp);
      told.push(`created:${cp._id}`);
    },
    onDecided: async (cp) => void told.push(`decided:${cp._id}:${cp.status}`),
    onProgress: async (cp) => void told.push(`progress:${cp._id}:${cp.approvals.length}`),
  };
  let workers: RunningWorkers | undefined;
  const waitFor = async <T>(what: () => Promise<T | undefined | null | false>, label: string): Promise<T> => {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const value = await what();
      if (value) return value;
      await new Promise((r) => setTimeout(r, 40));
    }
    throw new Error(`timed out waiting for ${label}`);
  };
  const self: ApprovalEngine = {
    store,
    deps,
    engine,
    told,
    shown,
    advance,
    startWorkers() {
      workers = startWorkers(deps, { concurrency: 4, lockDurationMs: 5_000, channels: [recorder] });
    },
    // The process that runs passes is gone, so a decision made meanwhile cannot resume the run in it either.
    async stopWorkers() {
      deps.settings.resumeInProcess = false;
      await workers?.close();
      workers = undefined;
    },
    waitFor,
    finished: (runId) =>
      waitFor(async () => {
        const run = await engine.getRun(runId);
        return run && ['completed', 'failed'].includes(run.status) ? run : undefined;
      }, `run ${runId} to finish`),
    checkpoint: (runId, name) =>
      waitFor(
        async () => (await store.checkpoints.findOne({ runId, name }).lean<CheckpointDoc>()) ?? undefined,
        `checkpoint ${name} of ${runId}`,
      ),
    async close() {
      await workers?.close();
      await store.connection.dropDatabase();
      await closeEngineDeps(deps);
    },
  };
  self.startWorkers();
  return self;
}

/** The HTTP app over an approval engine, listening on a free local port. */
export interface ServedApprovalEngine {
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * The real express app over `h`'s engine and store, with only `routes` mounted (plus what every app serves), so a
 * test reaches the engine through the same HTTP surface people use. `secrets` are this test file's own.
 */
export async function serveApprovalEngine(
  h: ApprovalEngine,
  routes: readonly HttpRoutes[],
  secrets: { label: string; appSecret: string; apiToken: string },
): Promise<ServedApprovalEngine> {
  const redis = new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
  const config = parseEnv({
    MONGODB_URI: mongodbUri(),
    REDIS_URL: redisUrl(),
    APP_SECRET: secrets.appSecret,
    COUNTERSIGN_API_TOKEN: secrets.apiToken,
    WEBHOOK_SECRET: `${secrets.label}-webhook-secret`,
    PUBLIC_URL: 'https://countersign.test',
  });
  const app = createHttpApp(
    {
      config,
      engine: h.engine,
      store: h.store,
      redis,
      metrics: createMetrics(),
      logger: pino({ level: 'silent' }),
      workflows: { startsByWebhook: () => false, listing: () => [], inputProblems: () => [] },
      console: testConsoleServices(h.store, redis, config.appSecret, `test-${secrets.label}`),
    },
    routes,
  );
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      redis.disconnect();
    },
  };
}
