import { composeStop } from './docker.js';
import type { ServicesOptions } from './options.js';
import { isOurProcess, stopProcess } from './process.js';
import type { Chosen } from './state.js';
import { readState, withLock, writeState } from './state.js';

/** Stops only what `up` started (a server we spawned, or a docker compose service); returns false if one would not stop. */
export async function servicesDown(opts: ServicesOptions): Promise<boolean> {
  return withLock(opts.paths, opts.report, async () => {
    const state = readState(opts.paths);
    const redisOk = await stopOne(opts, 'redis', state.redis);
    const mongoOk = await stopOne(opts, 'mongo', state.mongo);
    writeState(opts.paths, {
      version: 1,
      redis: redisOk ? undefined : state.redis,
      mongo: mongoOk ? undefined : state.mongo,
    });
    return redisOk && mongoOk;
  });
}

async function stopOne(
  opts: ServicesOptions,
  service: 'redis' | 'mongo',
  chosen: Chosen | undefined,
): Promise<boolean> {
  const { report } = opts;
  if (!chosen) {
    report.ok(`${service}: nothing recorded as started by services up`);
    return true;
  }
  if (chosen.source === 'env' || chosen.source === 'existing') {
    report.ok(`${service}: left alone (${chosen.why}; not started by countersign)`);
    return true;
  }
  if (chosen.source === 'docker') {
    report.step(`${service}: docker compose stop ${service}…`);
    const ok = await composeStop(opts, service);
    if (ok) report.ok(`${service}: stopped (docker compose)`);
    else report.fail(`${service}: docker compose stop ${service} failed`);
    return ok;
  }
  const name = chosen.program === 'ferretdb' ? 'ferretdb' : service;
  if (!chosen.pid || !isOurProcess(chosen.pid, chosen.program)) {
    report.ok(`${name}: already stopped`);
    return true;
  }
  report.step(`${name}: stopping pid ${chosen.pid}…`);
  const stopped = await stopProcess(chosen.pid);
  if (stopped) report.ok(`${name}: stopped (pid ${chosen.pid})`);
  else report.fail(`${name}: pid ${chosen.pid} would not stop; kill it by hand`);
  return stopped;
}
