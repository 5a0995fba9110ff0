import { webApi } from '@slack/bolt';
import express, { type Express } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { AgentRunner } from '../../agents/define.js';
import type { Config } from '../../config.js';
import type { Clock } from '../../engine/deps.js';
import { createFailpoints } from '../../engine/failpoints.js';
import type { Engine } from '../../engine/types.js';
import type { WorkflowRegistry } from '../../engine/workflow.js';
import { createIdentities } from '../../identity.js';
import type { SlackIntakeRoutes } from '../../modules/intake.js';
import { appendAudit } from '../../store/audit.js';
import type { Store } from '../../store/models.js';
import { boltLogger, createBoltApps } from './bolt.js';
import { createSlackChannel } from './channel.js';
import { slackCollections } from './collections.js';
import type { SlackHandlerDeps, SlackInbound } from './deps.js';
import { createSlackDirectory } from './directory.js';
import { createOutbox } from './outbox.js';
import { createPeople } from './people.js';
import { createSlackQueue, startSlackWorker } from './queue.js';

export interface SlackIntegrationDeps {
  config: Config;
  engine: Engine;
  store: Store;
  workflows: WorkflowRegistry;
  runner: AgentRunner;
  logger: Logger;
  clock: Clock;
  redis: Redis;
  /** The listeners (handlers/slack/), from the composition root. */
  inbound: SlackInbound;
  /** What the modules' Slack intake starts. */
  intake: SlackIntakeRoutes;
  /** Channels whose mentions start the mention workflow; empty or absent = any channel the bot is in. */
  intakeChannels?: string[];
  /** Gap between two messages to one channel (Slack: about one per second). */
  paceMs?: number;
}

/**
 * Slack, wired: Bolt listeners (HTTP at /slack/events and/or Socket Mode), the outbound card channel, the
 * approver directory for the engine, and the `slack` queue that keeps every acknowledgement within 3 seconds.
 * Returns undefined when SLACK_BOT_TOKEN is not set.
 */
export function createSlackIntegration(deps: SlackIntegrationDeps) {
  const { config, logger: rootLogger } = deps;
  const botToken = config.slack.botToken;
  if (!botToken) return undefined;
  const logger = rootLogger.child({ component: 'slack' });
  const slackApiUrl = config.slack.apiUrl.endsWith('/') ? config.slack.apiUrl : `${config.slack.apiUrl}/`;
  const web = new webApi.WebClient(botToken, {
    slackApiUrl,
    logger: boltLogger(logger),
    retryConfig: { retries: 4, factor: 2, minTimeout: 500, maxTimeout: 10_000 },
  });
  const keyPrefix = config.queuePrefix;
  const outbox = createOutbox({
    web,
    redis: deps.redis,
    keyPrefix,
    logger,
    ...(deps.paceMs !== undefined ? { paceMs: deps.paceMs } : {}),
  });
  const db = slackCollections(deps.store.connection);
  const identities = createIdentities(deps.store);
  const people = createPeople({ outbox, identities });
  const directory = createSlackDirectory({
    outbox,
    approvalsChannel: config.slack.approvalsChannel,
    defaultEmails: config.approverEmails,
  });
  const queue = createSlackQueue(deps.redis, config.queuePrefix);
  const runUrl = (runId: string) => `${config.publicUrl}/api/runs/${encodeURIComponent(runId)}`;
  const now = () => deps.clock.now();
  const handlerDeps: SlackHandlerDeps = {
    engine: deps.engine,
    workflows: deps.workflows,
    store: deps.store,
    db,
    outbox,
    people,
    runner: deps.runner,
    intake: deps.intake,
    logger,
    enqueue: queue.enqueue,
    withdraw: queue.withdraw,
    audit: (cp, entry) => appendAudit(deps.store, cp, entry),
    runUrl,
    now,
    approvalsChannel: config.slack.approvalsChannel,
    intakeChannels: deps.intakeChannels ?? deps.config.slack.intakeChannels,
  };
  const bolt = createBoltApps({
    botToken,
    signingSecret: config.slack.signingSecret,
    appToken: config.slack.appToken,
    apiUrl: slackApiUrl,
    logger,
  });
  for (const app of bolt.apps) deps.inbound.register(app, handlerDeps);
  const channel = createSlackChannel({
    outbox,
    db,
    store: deps.store,
    identities,
    logger,
    approvalsChannel: config.slack.approvalsChannel,
    runUrl,
    now,
    failpoints: createFailpoints(config.failpoints, logger),
  });
  const workers: { close(): Promise<void> }[] = [];

  return {
    channel,
    directory,
    /** For tests and the bench: the handlers' view of the world. */
    handlerDeps,
    /** Puts /slack/events in front of `http`, before any body parser, so the receiver reads the raw body it verifies. */
    mount(http: Express): Express {
      if (!bolt.router) return http;
      const outer = express();
      outer.disable('x-powered-by');
      outer.use(bolt.router);
      outer.use(http);
      return outer;
    },
    /** Starts the `slack` worker and, with SLACK_APP_TOKEN, the Socket Mode connection. */
    startWorkers(): void {
      workers.push(
        startSlackWorker({
          connection: deps.redis,
          prefix: config.queuePrefix,
          concurrency: config.workerConcurrency,
          logger,
          handle: (job, jobId) => deps.inbound.handleJob(handlerDeps, job, jobId),
        }),
      );
      bolt
        .start()
        .catch((err: unknown) => logger.error({ err: (err as Error).message }, 'socket mode failed to start'));
    },
    async close() {
      await bolt.stop();
      await Promise.all(workers.map((w) => w.close()));
      await queue.close();
    },
  };
}
