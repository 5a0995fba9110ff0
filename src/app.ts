import type { Server } from 'node:http';
import type { Express } from 'express';
import nodemailer from 'nodemailer';
import OpenAI from 'openai';
import { type Logger, pino } from 'pino';
import { createDisputeAgents } from '../agents/disputes/agents.js';
import { createDisputeData, seedSampleData } from '../agents/disputes/data.js';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { createOutcomeLog, type OutcomeLog } from '../agents/disputes/outcomes.js';
import { createSlackIntakeWorkflow } from '../agents/disputes/slack-intake.js';
import { createDisputeTools } from '../agents/disputes/tools.js';
import { createCardDisputeWorkflow } from '../agents/disputes/workflow.js';
import { createAgentRunner } from './agents/runtime.js';
import { approvalLink } from './approvals/tokens.js';
import { createEmailParts } from './channels/email/wiring.js';
import { createMailer } from './channels/mailer.js';
import { createSlackIntegration } from './channels/slack/index.js';
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
  const linkFor = (cp: { _id: string }, recipient: string) =>
    approvalLink(config.publicUrl, config.appSecret, { checkpointId: cp._id, recipient, now: clock.now() });
  // The intake workflow starts `card-dispute` runs, so it reads the engine lazily (it is built from the workflows).
  const email = createEmailParts({
    config,
    store,
    mailer,
    logger,
    redis,
    queuePrefix: config.queuePrefix,
    engine: () => engine,
    linkFor,
  });
  const workflows = workflowRegistry(
    createCardDisputeWorkflow({
      agents,
      mailer,
      outcomes,
      autonomy: config.autonomy,
      review: {
        ...(config.review.reminders > 0
          ? { reminders: { everyMs: config.review.remindEveryMs, max: config.review.reminders } }
          : {}),
        timeout: {
          afterMs: config.review.timeoutMs,
          action: config.review.timeoutAction,
          escalateTo: config.review.escalateTo,
        },
      },
    }),
    email.workflow,
    // Mentions in Slack threads; reads the Slack integration lazily (built below, from the engine).
    createSlackIntakeWorkflow({
      intakeAgent: email.intakeAgent,
      engine: () => engine,
      slack: () => slack?.handlerDeps,
      failpoints,
    }),
  );

  const deps: EngineDeps = {
    store,
    queues,
    workflows,
    agents: agentRegistry(...Object.values(agents), email.intakeAgent),
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
  // --- Slack (issue 3): Bolt at /slack/events, checkpoint cards, the approver directory, the `slack` queue. ---
  const slack = createSlackIntegration({ config, engine, store, workflows, runner, logger, clock, redis });
  if (slack) deps.directories.push(slack.directory);
  // --- end Slack ---
  const httpApp = createHttpApp({ config, engine, store, redis, metrics, logger, now: () => clock.now() });
  const http = slack ? slack.mount(httpApp) : httpApp;
  const channels = [email.channel];
  if (slack) channels.push(slack.channel);
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
      const mail = email.startWorkers();
      slack?.startWorkers();
      const both = { ...w, close: async () => Promise.all([w.close(), mail.then((m) => m.close())]).then(() => {}) };
      running.push(both);
      return both;
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
      await slack?.close();
      await queues.close();
      await redis.quit().catch(() => {});
      transport?.close();
      await offlineModel?.close();
      await store.close();
    },
  };
}
