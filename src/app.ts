import type { Server } from 'node:http';
import type { Express } from 'express';
import nodemailer from 'nodemailer';
import OpenAI from 'openai';
import { type Logger, pino } from 'pino';
import type { AgentRunner } from './agents/define.js';
import { providersFromSettings } from './agents/providers.js';
import { createAgentRunner } from './agents/runtime.js';
import { approvalLink } from './approvals/tokens.js';
import type { EmailRoute } from './channels/email/routing.js';
import { createEmailParts, type EmailInbound } from './channels/email/wiring.js';
import { createMailer } from './channels/mailer.js';
import type { SlackInbound } from './channels/slack/deps.js';
import { createSlackIntegration } from './channels/slack/index.js';
import type { Config } from './config.js';
import { ConfigError } from './config-error.js';
import { createConsoleServices } from './console/services.js';
import { createDependencyHealth, type DependencyHealth, DRIVER_EVENTS } from './dependency-health.js';
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
import { createQueues } from './engine/queues.js';
import type { Engine } from './engine/types.js';
import { type RunningWorkers, startWorkers } from './engine/workers.js';
import { workflowRegistry } from './engine/workflow.js';
import { offlineJudgeResponder } from './evals/offline-judge.js';
import { refuseInFront } from './http/outage.js';
import { pingStore } from './http/probes.js';
import { createHttpApp, type HttpRoutes } from './http/server.js';
import { createMetrics } from './metrics.js';
import { buildCatalogue, type ConfiguredRouting, type EvalTarget, type WorkflowListing } from './modules/catalogue.js';
import type { DigestSection, UseCaseModule } from './modules/types.js';
import { type OfflineModel, startOfflineModel } from './offline-model/index.js';
import { throughOutage } from './outage-retry.js';
import { producerRedis, untilReady } from './redis-connections.js';
import {
  agentModel,
  revealProviders,
  routeEmail,
  unknownWorkflowProblems,
  workflowAutonomyCeilings,
  workflowSliceRules,
} from './settings.js';
import { createEngineStore } from './store/engine-store.js';
import { moduleIndexes } from './store/indexes.js';
import { ensureIndexes, openStore, type Store } from './store/models.js';

/** The inbound adapters (handlers/): the platform calls them, the composition root names them. */
export interface InboundAdapters {
  /** Mounted in this order, before the dashboard and the 404. */
  http: readonly HttpRoutes[];
  slack: SlackInbound;
  email: EmailInbound;
}

export interface AppOptions {
  config: Config;
  /** The use cases this deployment runs (agents/<name>/module.ts), in priority order for shared intake. */
  modules: readonly UseCaseModule[];
  inbound: InboundAdapters;
  /** Routing ahead of the modules' defaults; default: the configuration file's `routing` (config.settings). */
  routing?: ConfiguredRouting;
  logger?: Logger;
  settings?: Partial<EngineSettings>;
  clock?: Clock;
  /** Seed the sample business data every module's agents read (demo, tests, bench). */
  seedSampleData?: boolean;
}

export interface App {
  config: Config;
  logger: Logger;
  store: Store;
  engine: Engine;
  deps: EngineDeps;
  /** Whether the store and Redis answer; error paths `report` outages to it. */
  health: DependencyHealth;
  http: Express;
  /** The routes new mail is matched against (configuration first, then each module's). */
  emailRoutes: readonly EmailRoute[];
  /** `GET /api/workflows` and `countersign workflows`. */
  workflowListing(): WorkflowListing[];
  /** Inputs `npm run demo` submits, one run each. */
  demoSamples: readonly { module: string; workflow: string; label: string; input: unknown }[];
  /** The modules' sections of the manager digest. */
  digestSections(period: { from: Date; to: Date }): Promise<DigestSection[]>;
  offlineModel: OfflineModel | undefined;
  /** What `countersign eval` runs: workflows with their suites, and the agent runtime bound to a chosen model. */
  evals: {
    target(workflow: string): EvalTarget | undefined;
    suiteNames(): string[];
    runnerFor(
      model: string | undefined,
    ): { runner: AgentRunner; model: string; provider: string } | { problem: string };
  };
  startWorkers(): RunningWorkers;
  listen(port?: number): Promise<Server>;
  close(): Promise<void>;
}

/**
 * The platform: builds connections, clients and channels and hands them down, and registers what the modules
 * bring. It names no use case and no handler; the composition root (compose.ts) passes both in.
 */
/** How long a starting process waits for the store before it gives up (and its supervisor starts it again). */
const STARTUP_PATIENCE_MS = 120_000;

export async function createApp(options: AppOptions): Promise<App> {
  const { config } = options;
  const logger =
    options.logger ??
    pino({
      level: config.logLevel,
      redact: ['*.apiKey', '*.token', '*.password', '*.secret', 'req.headers.authorization'],
    });
  // A process started during an outage (a deploy, a restart by its supervisor) waits for the store to return.
  const store = await throughOutage(
    () => openStore(config.mongodbUri),
    STARTUP_PATIENCE_MS,
    (ms) => {
      logger.warn({ retryInMs: ms }, 'waiting for the store to answer');
      return new Promise((r) => setTimeout(r, ms));
    },
  );
  // The platform's indexes and the modules' own; every query is checked against these lists (store-indexes test).
  await throughOutage(() => ensureIndexes(store, moduleIndexes(options.modules)), STARTUP_PATIENCE_MS);
  // Fails fast while Redis is away (requests answer 503); its duplicates are the workers' patient connections.
  const redis = producerRedis(config.redisUrl);
  // The monitor follows its errors; this listener stays after the monitor lets go, for errors during shutdown.
  redis.on('error', () => {});
  await untilReady(redis);
  const queues = createQueues(redis, config.queuePrefix);
  // A queue repeats its connection's errors, and prints them without a listener; the monitor follows the connection.
  for (const queue of [queues.runs, queues.agents, queues.notify]) queue.on('error', () => {});
  const metrics = createMetrics();
  const failpoints = createFailpoints(config.failpoints, logger);
  const clock = options.clock ?? systemClock;
  const health = createDependencyHealth({
    pings: { mongo: () => pingStore(store), redis: () => redis.ping() },
    // Outages are measured in wall time even where a test moves the engine's clock.
    clock: systemClock,
    logger,
    onOutage: (dependency) => metrics.dependencyOutages.inc({ dependency }),
  });
  health.watch('mongo', store.connection, DRIVER_EVENTS.mongoose);
  health.watch('mongo', store.connection.getClient(), DRIVER_EVENTS.mongoClient);
  health.watch('redis', redis, DRIVER_EVENTS.ioredis);

  const transport = config.smtpUrl ? nodemailer.createTransport(config.smtpUrl) : undefined;
  const mailer = createMailer({ transport, from: config.mailFrom, store, failpoints, logger });
  const linkFor = (cp: { _id: string }, recipient: string) =>
    approvalLink(config.publicUrl, config.appSecret, { checkpointId: cp._id, recipient, now: clock.now() });
  // Modules and the email reader read the engine and the agent runner lazily: both are built from the modules.
  let runner: AgentRunner | undefined;
  const email = createEmailParts({
    config,
    store,
    mailer,
    logger,
    redis,
    queuePrefix: config.queuePrefix,
    engine: () => engine,
    linkFor,
    inbound: options.inbound.email,
    routes: () => catalogue.emailRoutes,
    digestSections: (period) => catalogue.digestSections(period),
  });
  /** A module or the configuration refused: let go of what is open so the process can exit with the error. */
  const releaseOnRefusal = async () => {
    health.close();
    await queues.close();
    await redis.quit().catch(() => {});
    transport?.close();
    await store.close();
  };
  const catalogue = await buildCatalogue(
    options.modules,
    {
      config,
      store,
      mailer,
      logger,
      clock,
      failpoints,
      engine: () => engine,
      runner: () => {
        if (!runner) throw new Error('the agent runner is read before the app is built');
        return runner;
      },
      email: { store: email.email, threadMail: email.threadMail },
      slack: () => slack?.handlerDeps,
    },
    // The configuration file's routing first (none without a file), then each module's defaults.
    options.routing ?? {
      email: routeEmail(config.settings),
      slack: { commands: config.settings.routing.slack.commands },
    },
  ).catch(async (err: unknown) => {
    await releaseOnRefusal();
    throw err;
  });

  // The catalogue checked the file's routing; the names under `workflows:` can only be checked now that every
  // module has declared its workflows. A typo there would otherwise configure nothing, silently.
  if (config.settingsPath) {
    const registered = catalogue.workflows.map((w) => w.name);
    const settingsWithoutRouting = { ...config.settings, routing: { email: [], slack: { commands: {} } } };
    const problems = unknownWorkflowProblems(settingsWithoutRouting, registered, config.settingsPath);
    if (problems.length > 0) {
      await releaseOnRefusal();
      throw new ConfigError(problems);
    }
  }

  let offlineModel: OfflineModel | undefined;
  let baseURL: string | undefined;
  let apiKey = 'offline-model';
  if (config.model.kind === 'offline') {
    offlineModel = await startOfflineModel({
      port: 0,
      latencyMs: config.offlineModelLatencyMs,
      // The eval judge is the platform's own agent: offline, evals grade replies by its rules.
      responders: [...catalogue.responders, offlineJudgeResponder],
    });
    baseURL = offlineModel.baseUrl;
  } else {
    baseURL = config.model.baseUrl;
    apiKey = config.model.apiKey ?? apiKey;
  }
  const client = new OpenAI({ apiKey, ...(baseURL ? { baseURL } : {}), maxRetries: 0, timeout: 60_000 });
  // Agents choose a provider and model in the configuration file; without any choice no run is read to find one.
  const settings = config.settings;
  const choosesModels =
    Object.keys(settings.agents).length > 0 || Object.values(settings.workflows).some((w) => w.agents !== undefined);
  const providers = providersFromSettings(revealProviders(settings), {});
  runner = createAgentRunner({
    client,
    defaultModel: config.modelName,
    store,
    logger,
    metrics,
    providers,
    ...(choosesModels
      ? {
          chooseModel: (agent: string, workflow: string | undefined) => agentModel(settings, workflow, agent),
          workflowOf: async (runId: string) =>
            (await store.runs.findById(runId, { workflow: 1 }).lean<{ workflow: string }>())?.workflow,
        }
      : {}),
  });

  if (options.seedSampleData ?? config.demo) await catalogue.seedSampleData();
  const workflows = workflowRegistry(...catalogue.workflows);

  const deps: EngineDeps = {
    store,
    engineStore: createEngineStore(store),
    inflight: new Set(),
    queues,
    workflows,
    agents: agentRegistry(...catalogue.agents),
    runner,
    clock,
    logger,
    metrics,
    failpoints,
    directories: [],
    health,
    settings: {
      ...defaultSettings,
      approverEmails: config.approverEmails,
      leaseMs: config.runLeaseMs,
      reconcileIntervalMs: config.reconcileIntervalMs,
      journalRetentionMs: config.journalRetentionMs,
      autonomyCeiling: config.autonomy,
      workflowAutonomy: workflowAutonomyCeilings(config.settings),
      sliceAutonomy: workflowSliceRules(config.settings),
      sliceBands: config.settings.autonomy,
      ...options.settings,
    },
  };
  const engine = createEngine(deps);
  // --- Slack (issue 3): Bolt at /slack/events, checkpoint cards, the approver directory, the `slack` queue. ---
  const slack = createSlackIntegration({
    config,
    engine,
    store,
    workflows,
    runner,
    logger,
    clock,
    redis,
    inbound: options.inbound.slack,
    intake: catalogue.slack,
  });
  if (slack) deps.directories.push(slack.directory);
  // --- end Slack ---
  const httpApp = createHttpApp(
    {
      config,
      engine,
      store,
      redis,
      metrics,
      health,
      logger,
      now: () => clock.now(),
      workflows: {
        startsByWebhook: (name) => catalogue.webhooks.has(name),
        listing: catalogue.listing,
        inputProblems: catalogue.inputProblems,
      },
      console: createConsoleServices({
        connection: store.connection,
        redis,
        mailer,
        appSecret: config.appSecret,
        signInLimits: config.settings.console.signInLimits,
        prefix: config.queuePrefix,
        queues: { runs: queues.runs, agents: queues.agents, notify: queues.notify },
      }),
    },
    options.inbound.http,
  );
  const http = slack ? refuseInFront(slack.mount(httpApp), ['/slack'], health) : httpApp;
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
    health,
    http,
    emailRoutes: catalogue.emailRoutes,
    workflowListing: catalogue.listing,
    demoSamples: catalogue.demoSamples,
    digestSections: catalogue.digestSections,
    offlineModel,
    evals: {
      target(name) {
        const workflow = workflows.get(name);
        if (!workflow) return undefined;
        const module = catalogue.listing().find((w) => w.name === name)?.module ?? '';
        return catalogue.evalSuites.get(name) ?? { module, workflow, suite: { cases: [] } };
      },
      suiteNames: () => [...catalogue.evalSuites.keys()],
      runnerFor(model) {
        if (model === undefined) return { runner: runner as AgentRunner, model: config.modelName, provider: 'default' };
        // `provider:model` picks a configured provider; a bare name is a model of the default one (OPENAI_*).
        const colon = model.indexOf(':');
        const provider = colon > 0 ? model.slice(0, colon) : undefined;
        const name = colon > 0 ? model.slice(colon + 1) : model;
        if (name === '') return { problem: `--model "${model}" names no model` };
        if (provider !== undefined && !providers.some((p) => p.name === provider))
          return {
            problem: `--model "${model}": no provider "${provider}" is configured (known: ${['default', ...providers.map((p) => p.name)].join(', ')})`,
          };
        const bound = createAgentRunner({
          client,
          defaultModel: name,
          store,
          logger,
          metrics,
          providers,
          // Every agent on the named model, whatever the configuration or the agent itself names.
          chooseModel: () => ({ provider, model: name }),
        });
        return { runner: bound, model: name, provider: provider ?? 'default' };
      },
    },
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
      // Our own disconnects below are no outage.
      health.close();
      await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
      // Runs resumed by a decision in this process finish their pass before the queues and the store go.
      await Promise.allSettled([...deps.inflight]);
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
