import { z } from 'zod';
import { servicesDown } from './down.js';
import { DEFAULT_PORTS, type ServicesOptions } from './options.js';
import type { Env } from './process.js';
import { describeError, lineReporter, ServicesError } from './report.js';
import { findProjectRoot } from './root.js';
import { servicesPaths } from './state.js';
import { servicesUp } from './up.js';

const USAGE = [
  'usage: countersign services up|down|env [--quiet]',
  '  up    start local Redis and a MongoDB-compatible server unless REDIS_URL / MONGODB_URI are set',
  '  down  stop what `up` started (servers it did not start are left alone)',
  '  env   bring them up, then print MONGODB_URI=… and REDIS_URL=… (progress goes to stderr)',
];

const portSchema = z.coerce.number().int().min(1).max(65535);

/**
 * Options for the services code from the environment. COUNTERSIGN_DATA_DIR moves .data elsewhere and
 * COUNTERSIGN_{REDIS,MONGOD,FERRETDB}_PORT move the ports, for a second private set next to the usual one.
 */
export function servicesOptionsFromEnv(env: Env, write: (line: string) => void, quiet = false): ServicesOptions {
  const port = (name: string, fallback: number): number => {
    const raw = env[name];
    if (!raw) return fallback;
    const parsed = portSchema.safeParse(raw);
    if (!parsed.success) throw new ServicesError(`${name}: expected a port number from 1 to 65535`);
    return parsed.data;
  };
  return {
    paths: servicesPaths(findProjectRoot(), env.COUNTERSIGN_DATA_DIR || undefined),
    env,
    report: lineReporter(write, quiet),
    ports: {
      redis: port('COUNTERSIGN_REDIS_PORT', DEFAULT_PORTS.redis),
      mongod: port('COUNTERSIGN_MONGOD_PORT', DEFAULT_PORTS.mongod),
      ferretdb: port('COUNTERSIGN_FERRETDB_PORT', DEFAULT_PORTS.ferretdb),
    },
  };
}

/**
 * `countersign services up|down|env`: returns the exit code; never a stack trace. `out` takes the progress lines of
 * `up`/`down` and the usage; `env` writes its two result lines to stdout and its progress to stderr.
 */
export async function runServicesCommand(argv: string[], out: (line: string) => void): Promise<number> {
  const args = argv[0] === 'services' ? argv.slice(1) : argv;
  const sub = args.find((a) => !a.startsWith('-'));
  const quiet = args.includes('--quiet') || args.includes('-q');
  if (args.includes('--help') || args.includes('-h')) {
    for (const line of USAGE) out(line);
    return 0;
  }
  if (sub !== 'up' && sub !== 'down' && sub !== 'env') {
    for (const line of USAGE) out(line);
    return 2;
  }
  // `env` output is meant for eval/export, so everything but the two lines goes to stderr.
  const progress = sub === 'env' ? (line: string) => process.stderr.write(`${line}\n`) : out;
  let opts: ServicesOptions;
  try {
    opts = servicesOptionsFromEnv(process.env, progress, quiet);
  } catch (err) {
    progress(`✗ services: ${describeError(err)}`);
    return 1;
  }
  try {
    if (sub === 'down') return (await servicesDown(opts)) ? 0 : 1;
    const urls = await servicesUp(opts);
    if (sub === 'env') {
      // Straight to stdout whatever `out` is: these two lines are the command's result, made for eval/export.
      process.stdout.write(`MONGODB_URI=${urls.mongodbUri}\nREDIS_URL=${urls.redisUrl}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof ServicesError) opts.report.fail(err.message);
    else opts.report.fail(`services: unexpected failure: ${describeError(err)}`);
    return 1;
  }
}
