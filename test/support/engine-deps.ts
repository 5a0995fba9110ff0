import { pino } from 'pino';
import type { AgentRunner } from '../../src/agents/define.js';
import {
  type AgentRegistry,
  agentRegistry,
  defaultSettings,
  type EngineDeps,
  type EngineSettings,
} from '../../src/engine/deps.js';
import { noFailpoints } from '../../src/engine/failpoints.js';
import { createQueues } from '../../src/engine/queues.js';
import { type Workflow, workflowRegistry } from '../../src/engine/workflow.js';
import { createMetrics } from '../../src/metrics.js';
import { producerRedis, untilReady } from '../../src/redis-connections.js';
import { createEngineStore } from '../../src/store/engine-store.js';
import { openStore } from '../../src/store/models.js';
import { redisUrl, testMongoUri, uniquePrefix } from './env.js';

/** What every engine test builds its engine from, and the clock it can move. */
export interface TestEngineDeps {
  deps: EngineDeps;
  /** Moves the engine's clock forward (timers fall due, delegations end). */
  advance(ms: number): void;
}

/**
 * Engine dependencies over real FerretDB/MongoDB and Redis, on a database and queue prefix of their own (`label`),
 * with a clock the test moves and short leases so a stopped worker's runs are taken over quickly.
 */
export async function testEngineDeps(options: {
  label: string;
  workflows: Workflow<unknown, unknown>[];
  /** Built over the same store and logger as the engine, as the app builds its runner. */
  runner: (shared: Pick<EngineDeps, 'store' | 'logger'>) => AgentRunner;
  agents?: AgentRegistry;
  settings?: Partial<EngineSettings>;
}): Promise<TestEngineDeps> {
  const store = await openStore(testMongoUri(options.label));
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  let offsetMs = 0;
  // As the app makes it: fails fast during an outage, its duplicates (the workers') wait one out.
  const redis = producerRedis(redisUrl());
  await untilReady(redis);
  const deps: EngineDeps = {
    store,
    engineStore: createEngineStore(store),
    inflight: new Set(),
    queues: createQueues(redis, uniquePrefix(options.label)),
    workflows: workflowRegistry(...options.workflows),
    agents: options.agents ?? agentRegistry(),
    runner: options.runner({ store, logger }),
    clock: { now: () => new Date(Date.now() + offsetMs) },
    logger,
    metrics: createMetrics(),
    failpoints: noFailpoints,
    directories: [],
    settings: { ...defaultSettings, leaseMs: 2_000, reconcileIntervalMs: 60_000, ...options.settings },
  };
  return {
    deps,
    advance(ms) {
      offsetMs += ms;
    },
  };
}

/** Closes the queues, their Redis connection and the store (stop the workers first). */
export async function closeEngineDeps(deps: EngineDeps): Promise<void> {
  await deps.queues.close();
  await deps.queues.connection.quit();
  await deps.store.close();
}
