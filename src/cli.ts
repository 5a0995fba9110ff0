import { type App, createApp } from './app.js';
import { type Config, ConfigError, parseEnv } from './config.js';
import { runDemo } from './demo.js';
import { runServicesCommand } from './services/command.js';

const USAGE = `usage: countersign <command>

  start                  HTTP server and all workers in one process
  serve                  HTTP only (webhooks, approval pages, API, metrics)
  worker                 queue workers only; run as many as you like
  services up|down|env   local Redis and a MongoDB-compatible server for development
  demo                   everything, with the offline model and a mail catcher, and one sample dispute
`;

function loadConfig(env: Record<string, string | undefined>): Config | number {
  try {
    return parseEnv(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write('countersign: invalid configuration\n');
    for (const line of err.problems) process.stderr.write(`  ${line}\n`);
    return 2;
  }
}

/** Resolves on SIGINT/SIGTERM after in-flight jobs drain and connections close. */
function untilSignal(app: App): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      app.logger.info({ signal }, 'shutting down: draining in-flight jobs');
      const force = setTimeout(() => {
        app.logger.error('shutdown took over 60 s; exiting anyway');
        resolve(1);
      }, 60_000);
      force.unref();
      app.close().then(
        () => resolve(0),
        (err: Error) => {
          app.logger.error({ err: err.message }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'services':
      return runServicesCommand(rest, (line) => process.stderr.write(`${line}\n`));
    case 'demo':
      return runDemo(process.env, loadConfig);
    case 'start':
    case 'serve':
    case 'worker': {
      const config = loadConfig(process.env);
      if (typeof config === 'number') return config;
      const app = await createApp({ config });
      if (command !== 'worker') {
        await app.listen();
        app.logger.info({ url: config.publicUrl }, 'listening');
      }
      if (command !== 'serve') app.startWorkers();
      return untilSignal(app);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`countersign: unknown command "${command}"\n\n${USAGE}`);
      return 1;
  }
}
