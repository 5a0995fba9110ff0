import { join } from 'node:path';
import type { ServicesOptions } from './options.js';
import { type Env, run, tailOf, which } from './process.js';
import { ServicesError } from './report.js';

/** The last resort on machines with neither the servers nor Go: a Docker engine that answers. */
export async function dockerAvailable(env: Env): Promise<boolean> {
  if (!which('docker', env)) return false;
  return (await run('docker', ['info'], { env, timeoutMs: 15_000 })).code === 0;
}

const composeArgs = (opts: ServicesOptions) => ['compose', '-f', join(opts.paths.root, 'docker-compose.yml')];

export async function composeUp(opts: ServicesOptions, service: 'mongo' | 'redis'): Promise<void> {
  const result = await run('docker', [...composeArgs(opts), 'up', '-d', service], {
    env: opts.env,
    cwd: opts.paths.root,
    timeoutMs: 600_000,
  });
  if (result.code !== 0) {
    throw new ServicesError(`${service}: docker compose up -d ${service} failed:\n${tailOf(result.stderr, 6)}`);
  }
}

export async function composeStop(opts: ServicesOptions, service: 'mongo' | 'redis'): Promise<boolean> {
  const result = await run('docker', [...composeArgs(opts), 'stop', service], {
    env: opts.env,
    cwd: opts.paths.root,
    timeoutMs: 120_000,
  });
  return result.code === 0;
}
