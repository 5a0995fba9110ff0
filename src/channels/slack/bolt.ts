import { App, type Logger as BoltLogger, ExpressReceiver, LogLevel } from '@slack/bolt';
import express, { type Router } from 'express';
import type { Logger } from 'pino';

/** Bolt's logger interface over our pino logger; Bolt never sees request bodies (developerMode stays off). */
export function boltLogger(log: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (msg: unknown[]) => msg.map((m) => (m instanceof Error ? m.message : String(m))).join(' ');
  return {
    debug: (...msg) => log.debug(text(msg)),
    info: (...msg) => log.info(text(msg)),
    warn: (...msg) => log.warn(text(msg)),
    error: (...msg) => log.error(text(msg)),
    setLevel: (l) => {
      level = l;
    },
    getLevel: () => level,
    setName: () => {},
  };
}

export interface BoltApps {
  /** Mounted on our own HTTP server at /slack/events; absent without a signing secret. */
  router: Router | undefined;
  /** Every Bolt app to register listeners on: the HTTP one, the Socket Mode one, or both. */
  apps: App[];
  /** Starts the Socket Mode connection when SLACK_APP_TOKEN is set. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Bolt on two transports. HTTP: an ExpressReceiver whose router we mount on the service's own server, so Slack
 * shares the port, TLS and load balancer with everything else; the receiver reads the raw body, verifies the
 * signature (v0 HMAC-SHA256, timestamp within 5 minutes) and answers 401 before any listener runs. Socket Mode:
 * when SLACK_APP_TOKEN is set, for workspaces that cannot reach us over HTTP.
 */
export function createBoltApps(o: {
  botToken: string;
  signingSecret: string | undefined;
  appToken: string | undefined;
  apiUrl: string;
  logger: Logger;
}): BoltApps {
  const logger = boltLogger(o.logger);
  const clientOptions = { slackApiUrl: o.apiUrl };
  const apps: App[] = [];
  let router: Router | undefined;
  if (o.signingSecret) {
    router = express.Router();
    const receiver = new ExpressReceiver({
      signingSecret: o.signingSecret,
      endpoints: '/slack/events',
      router,
      // A throwaway app: the receiver mounts the router on it; ours mounts the same router on the real server.
      app: express(),
      logger,
      processBeforeResponse: false,
      // A body Bolt cannot classify reaches no listener; answer 200 (and log) rather than Bolt's 404 after 3 s, so
      // Slack neither retries it nor shows the person an error. After the modal handlers' own 2.3 s budget
      // (handlers/slack/views.ts), before Slack's 3 s.
      unhandledRequestTimeoutMillis: 2_600,
      unhandledRequestHandler: ({ logger: log, response }) => {
        log.warn('slack request reached no listener; acknowledged');
        if (!response.headersSent) {
          response.writeHead(200);
          response.end();
        }
      },
    });
    apps.push(new App({ token: o.botToken, receiver, clientOptions, logger }));
  }
  let socket: App | undefined;
  if (o.appToken) {
    socket = new App({ token: o.botToken, appToken: o.appToken, socketMode: true, clientOptions, logger });
    apps.push(socket);
  }
  for (const app of apps) {
    app.error(async (err) => {
      o.logger.error({ err: err.message, code: (err as { code?: string }).code }, 'slack listener failed');
    });
  }
  return {
    router,
    apps,
    async start() {
      if (socket) await socket.start();
    },
    async stop() {
      if (socket) await socket.stop();
    },
  };
}
