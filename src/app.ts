import type { Server } from 'node:http';
import type { Express } from 'express';
import nodemailer from 'nodemailer';
import OpenAI from 'openai';
import { type Logger, pino } from 'pino';
import { createDisputeAgents } from '../agents/disputes/agents.js';
import { createDisputeData, seedSampleData } from '../agents/disputes/data.js';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { createOutcomeLog, type OutcomeLog } from '../agents/disputes/outcomes.js';
import { createDisputeTools } from '../agents/disputes/tools.js';
import { createCardDisputeWorkflow } from '../agents/disputes/workflow.js';
import { createAgentRunner } from './agents/runtime.js';
import { approvalLink } from './approvals/tokens.js';
import { emailCheckpointChannel } from './channels/email-checkpoints.js';
import { createMailer } from './channels/mailer.js';
import type { Config } from './config.js';
import {
  agentRegistry,
  type Clock,
  defaultSettings,
  type EngineDeps,
  type EngineSettings,
  systemClock,
} from './engine/deps.js';
import { createEngine } from './engine/engine.js';
import { createFailpoints } from './engine/failpoints.js';
import { createQueues, redisConnection } from './engine/queues.js';
import type { Engine } from './engine/types.js';
import { type RunningWorkers, startWorkers } from './engine/workers.js';
import { workflowRegistry } from './engine/workflow.js';
import { createHttpApp } from './http/server.js';
import { createMetrics } from './metrics.js';
import { type OfflineModel, startOfflineModel } from './offline-model/index.js';
import { ensureIndexes, openStore, type Store } from './store/models.js';

export interface AppOptions {
  config: Config;
  logger?: Logger;
  settings?: Partial<EngineSettings>;
  clock?: Clock;
  /** Seed the sample business data the dispute agents read (demo, tests, bench). */
  seedSampleData?: boolean;
}

export interface App {
  config: Config;
  logger: Logger;
  store: Store;
  engine: Engine;
  deps: EngineDeps;
  http: Express;
  outcomes: OutcomeLog;
  offlineModel: OfflineModel | undefined;
  startWorkers(): RunningWorkers;
  listen(port?: number): Promise<Server>;
  close(): Promise<void>;
}

/** The one composition root: builds connections, clients and channels and hands them down. */
export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger =
    options.logger ??
    pino({
      level: config.logLevel,
      redact: ['*.apiKey', '*.token', '*.password', '*.secret', 'req.headers.authorization'],
    });
  const store = await openStore(config.mongodbUri);
  await ensureIndexes(store);
  const redis = redisConnection(config.redisUrl);
  const queues = createQueues(redis, config.queuePrefix);
  const metrics = createMetrics();
  const failpoints = createFailpoints(config.failpoints, logger);
  const clock = options.clock ?? systemClock;

  let offlineModel: OfflineModel | undefined;
  let baseURL: string | undefined;
  let apiKey = 'offline-model';
  if (config.model.kind === 'offline') {
    offlineModel = await startOfflineModel({
      port: 0,
      latencyMs: config.offlineModelLatencyMs,
      responders: disputeResponders(),
    });
    baseURL = offlineModel.baseUrl;
  } else {
    baseURL = config.model.baseUrl;
    apiKey = config.model.apiKey ?? apiKey;
  }
  const client = new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0, timeout: 60_000 });
  const runner = createAgentRunner({ client, defaultModel: config.modelName, store, logger, metrics });

  if (options.seedSampleData ?? config.demo) await seedSampleData(store.connection);
  const agents = createDisputeAgents(createDisputeTools(createDisputeData(store.connection)));
  const transport = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : undefined;
  const mailer = createMailer({ transport, from: config.mailFrom, store, failpoints, logger });
  const outcomes = createOutcomeLog(store.connection);
  const workflows = workflowRegistry(
    createCardDisputeWorkflow({ agents, mailer, outcomes, autonomy: config.autonomy }),
  );

  const deps: EngineDeps = {
    store,
    queues,
    workflows,
    agents: agentRegistry(...Object.values(agents)),
    runner,
    clock,
    logger,
    metrics,
    failpoints,
    directories: [],
    settings: {
      ...defaultSettings,
      approverEmails: config.approverEmails,
      leaseMs: config.runLeaseMs,
      reconcileIntervalMs: config.reconcileIntervalMs,
      ...options.settings,
    },
  };
  const engine = createEngine(deps);
  const http = createHttpApp({ config, engine, store, redis, metrics, logger, now: () => clock.now() });
  const channels = [
    emailCheckpointChannel({
      mailer,
      linkFor: (cp, recipient) =>
        approvalLink(config.publicUrl, config.appSecret, { checkpointId: cp._id, recipient, now: clock.now() }),
    }),
  ];
  const running: RunningWorkers[] = [];
  const servers: Server[] = [];

  return {
    config,
    logger,
    store,
    engine,
    deps,
    http,
    outcomes,
    offlineModel,
    startWorkers() {
      const w = startWorkers(deps, {
        concurrency: config.workerConcurrency,
        lockDurationMs: config.workerLockMs,
        channels,
      });
      running.push(w);
      return w;
    },
    listen(port = config.port) {
      return new Promise((resolve, reject) => {
        const server = http.listen(port, '0.0.0.0', () => resolve(server));
        server.once('error', reject);
        servers.push(server);
      });
    },
    async close() {
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      await Promise.all(running.map((w) => w.close()));
      await queues.close();
      await redis.quit().catch(() => {});
      transport?.close();
      await offlineModel?.close();
      await store.close();
    },
  };
}
