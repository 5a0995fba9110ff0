import type { App, AppOptions } from './app.js';
import { runAutonomyCommand } from './autonomy/command.js';
import { sliceOf } from './autonomy/slices.js';
import { type Config, ConfigError, parseEnv } from './config.js';
import { runDemo } from './demo.js';
import { type EvalHost, evalCommand } from './evals/command.js';
import type { WorkflowListing } from './modules/catalogue.js';
import type { UseCaseModule } from './modules/types.js';
import { runServicesCommand } from './services/command.js';

/** What the composition root (main.ts) hands the CLI: src/ never imports the root, so it receives it. */
export interface Platform {
  createApp(options: Omit<AppOptions, 'modules' | 'inbound'>): Promise<App>;
  modules: readonly UseCaseModule[];
}

const USAGE = `usage: countersign <command>

  start                  HTTP server and all workers in one process
  serve                  HTTP only (webhooks, approval pages, API, metrics)
  worker                 queue workers only; run as many as you like
  services up|down|env   local Redis and a MongoDB-compatible server for development
  workflows [--json]     the registered workflows: module, what starts them, input fields (--json: JSON Schema)
  eval <workflow> …      runs the workflow's agents on eval cases, scores them, writes a report, gates regressions
  eval export <workflow> writes decided checkpoints as eval cases (JSONL)
  autonomy [--json]      the autonomy boundary per workflow and kind of case, and what the evidence recommends
  autonomy apply|set|revert …  a person moves the boundary (recorded with who and why; see autonomy help)
  demo                   everything, with the offline model and a mail catcher, and one sample run per module
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

/** Builds the app; a configuration that names what no module registered exits with code 2 like any bad value. */
async function buildApp(platform: Platform, config: Config): Promise<App | number> {
  try {
    return await platform.createApp({ config });
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

/** `countersign workflows`: one row per workflow, as `GET /api/workflows` lists them. */
function workflowTable(rows: readonly WorkflowListing[]): string {
  const intakeOf = (w: WorkflowListing) =>
    [
      w.intake.webhook ? `webhook /webhooks/${w.name}` : '',
      ...w.intake.slack.commands.map((c) => `/countersign ${c}`),
      ...w.intake.slack.shortcuts.map((s) => `shortcut ${s}`),
      w.intake.slack.mention ? 'Slack mention' : '',
      ...w.intake.email.map((e) => `email ${e.to ?? e.subject ?? `route ${e.route}`}`),
    ]
      .filter(Boolean)
      .join(', ') || '(started by other workflows)';
  // The input schema's top-level fields, optional ones marked `?`; `--json` prints the whole JSON Schema.
  const inputOf = (w: WorkflowListing) => {
    const properties = w.inputSchema.properties;
    const required = new Set(Array.isArray(w.inputSchema.required) ? w.inputSchema.required : []);
    const names = properties && typeof properties === 'object' ? Object.keys(properties) : [];
    return names.map((n) => (required.has(n) ? n : `${n}?`)).join(', ') || '(any)';
  };
  const table = [
    ['WORKFLOW', 'MODULE', 'STARTED BY', 'INPUT', 'DESCRIPTION'],
    ...rows.map((w) => [w.name, w.module, intakeOf(w), inputOf(w), w.description]),
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  return table.map((r) => r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i] ?? 0) : cell)).join('  ')).join('\n');
}

/** The app as `countersign eval` uses it: no workers, no HTTP; closed when the command ends. */
async function evalHost(platform: Platform): Promise<EvalHost | number> {
  const config = loadConfig(process.env);
  if (typeof config === 'number') return config;
  const app = await buildApp(platform, config);
  if (typeof app === 'number') return app;
  const bands = config.settings.autonomy;
  return {
    store: app.store,
    journals: app.deps.engineStore,
    target: app.evals.target,
    suiteNames: app.evals.suiteNames,
    runnerFor: app.evals.runnerFor,
    sliceOf: (facts) => sliceOf(facts, bands),
    close: () => app.close(),
  };
}

export async function main(argv: string[], platform: Platform): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'services':
      return runServicesCommand(rest, (line) => process.stderr.write(`${line}\n`));
    case 'demo':
      return runDemo(process.env, loadConfig, platform.createApp);
    case 'workflows': {
      const config = loadConfig(process.env);
      if (typeof config === 'number') return config;
      // The listing comes from the modules as built for this configuration (routing included), so build the app.
      const app = await buildApp(platform, config);
      if (typeof app === 'number') return app;
      try {
        const rows = app.workflowListing();
        process.stdout.write(
          rest.includes('--json') ? `${JSON.stringify(rows, null, 2)}\n` : `${workflowTable(rows)}\n`,
        );
      } finally {
        await app.close();
      }
      return 0;
    }
    case 'eval':
      return evalCommand(rest, () => evalHost(platform), {
        out: process.stdout,
        err: process.stderr,
        cwd: process.cwd(),
      });
    case 'autonomy':
      return runAutonomyCommand(
        rest,
        async () => {
          const config = loadConfig(process.env);
          if (typeof config === 'number') return config;
          const app = await buildApp(platform, config);
          if (typeof app === 'number') return app;
          return {
            deps: {
              store: app.store,
              settings: config.settings,
              ceiling: config.autonomy,
              workflows: app.workflowListing().map((w) => w.name),
              now: () => new Date(),
            },
            close: () => app.close(),
          };
        },
        { out: (text) => process.stdout.write(text), err: (text) => process.stderr.write(text) },
      );
    case 'start':
    case 'serve':
    case 'worker': {
      const config = loadConfig(process.env);
      if (typeof config === 'number') return config;
      const app = await buildApp(platform, config);
      if (typeof app === 'number') return app;
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
