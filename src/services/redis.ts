import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeUp, dockerAvailable } from './docker.js';
import { findFreePort, isPortOpen } from './net.js';
import { DEFAULT_PORTS, type ServicesOptions } from './options.js';
import { ensureNoEviction, localRedisUrl, pingRedis } from './probes.js';
import { isOurProcess, readTail, run, tailOf, waitUntil, which } from './process.js';
import { redactUrl, ServicesError } from './report.js';
import type { Chosen } from './state.js';

const INSTALL_HINT =
  'install Redis 7 (Debian/Ubuntu: sudo apt-get install redis-server · macOS: brew install redis) or set REDIS_URL=redis://host:6379';

/** Picks a Redis for BullMQ: REDIS_URL, one already answering, ours from an earlier `up`, or one started now. */
export async function ensureRedis(opts: ServicesOptions, previous: Chosen | undefined): Promise<Chosen> {
  const { env, report } = opts;
  if (env.REDIS_URL) {
    const url = env.REDIS_URL;
    const probe = await pingRedis(url);
    if (!probe.ok) {
      throw new ServicesError(
        `redis: REDIS_URL (${redactUrl(url)}) does not answer: ${probe.reason}; fix it or unset it`,
      );
    }
    await checkPolicy(opts, url, false);
    report.ok(`redis: using REDIS_URL (${redactUrl(url)})`);
    return { url, source: 'env', program: 'unknown', why: 'REDIS_URL is set' };
  }

  if (previous?.source === 'started' && previous.pid && previous.port && isOurProcess(previous.pid, 'redis-server')) {
    const url = localRedisUrl(previous.port);
    if ((await pingRedis(url)).ok) {
      report.ok(`redis: answering on 127.0.0.1:${previous.port} (started earlier by services up, pid ${previous.pid})`);
      return { ...previous, url };
    }
  }

  const home = opts.ports.redis;
  let port = home;
  const existing = await probeLocal(port);
  if (existing === 'redis') return reuseExisting(opts, port, previous);
  if (existing === 'other') {
    port = await findFreePort(home + 1);
    report.warn(`redis: 127.0.0.1:${home} is taken by something that is not Redis; using port ${port}`);
  }

  let server = which('redis-server', env);
  if (!server) {
    server = await installWithApt(opts);
    // Debian's package may start its own server on 6379 when it can.
    if (server && port === home && (await probeLocal(port)) === 'redis') {
      return reuseExisting(opts, port, previous);
    }
  }
  if (server) return startRedis(opts, server, port);

  // docker-compose.yml publishes the default port only.
  if (port === DEFAULT_PORTS.redis && (await dockerAvailable(env))) {
    report.step('redis: no redis-server here; starting it with docker compose…');
    await composeUp(opts, 'redis');
    const url = localRedisUrl(port);
    if (!(await waitUntil(async () => (await pingRedis(url)).ok, 60_000, 500))) {
      throw new ServicesError('redis: docker compose started redis but it does not answer on 127.0.0.1:6379');
    }
    report.ok(`redis: answering on 127.0.0.1:${port} (docker compose)`);
    return { url, source: 'docker', program: 'docker', port, why: 'no redis-server on PATH; Docker answered' };
  }
  throw new ServicesError(`redis: none found. ${INSTALL_HINT}`);
}

async function reuseExisting(opts: ServicesOptions, port: number, previous: Chosen | undefined): Promise<Chosen> {
  await checkPolicy(opts, localRedisUrl(port), true);
  const ours = previous?.source === 'docker';
  opts.report.ok(`redis: answering on 127.0.0.1:${port} (${ours ? 'docker compose' : 'already running, reusing it'})`);
  return {
    url: localRedisUrl(port),
    source: ours ? 'docker' : 'existing',
    program: ours ? 'docker' : 'unknown',
    port,
    why: ours ? 'started earlier with docker compose' : `a Redis already answered on 127.0.0.1:${port}`,
  };
}

async function probeLocal(port: number): Promise<'none' | 'redis' | 'other'> {
  if (!(await isPortOpen(port))) return 'none';
  const probe = await pingRedis(localRedisUrl(port));
  if (probe.ok) return 'redis';
  if (/NOAUTH|WRONGPASS|auth/i.test(probe.reason)) {
    throw new ServicesError(
      `redis: the Redis on 127.0.0.1:${port} wants a password; set REDIS_URL=redis://:PASSWORD@127.0.0.1:${port}`,
    );
  }
  return 'other';
}

async function checkPolicy(opts: ServicesOptions, url: string, change: boolean): Promise<void> {
  const policy = await ensureNoEviction(url, change);
  if (policy.kind === 'changed') {
    opts.report.ok(`redis: set maxmemory-policy noeviction (was ${policy.from}) so BullMQ never loses jobs`);
  } else if (policy.kind === 'refused') {
    opts.report.warn(
      `redis: maxmemory-policy is ${policy.current}, BullMQ needs noeviction (${policy.reason}); set it in redis.conf`,
    );
  }
}

async function startRedis(opts: ServicesOptions, server: string, port: number): Promise<Chosen> {
  const dir = opts.paths.redis;
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  const logFile = join(dir, 'redis.log');
  opts.report.step(`redis: starting ${server} on 127.0.0.1:${port} (data in ${dir})…`);
  const started = await run(
    server,
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(port),
      '--daemonize',
      'yes',
      '--pidfile',
      pidFile,
      '--logfile',
      logFile,
      '--dir',
      dir,
      '--appendonly',
      'yes',
      '--maxmemory-policy',
      'noeviction',
    ],
    { env: opts.env, timeoutMs: 15_000 },
  );
  const url = localRedisUrl(port);
  const up = started.code === 0 && (await waitUntil(async () => (await pingRedis(url)).ok, 15_000, 200));
  if (!up) {
    const why = readTail(logFile) || started.stderr.trim() || started.stdout.trim();
    throw new ServicesError(`redis: ${server} did not start on 127.0.0.1:${port}${why ? `:\n${why}` : ''}`);
  }
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  opts.report.ok(`redis: answering on 127.0.0.1:${port} (started redis-server, pid ${pid})`);
  return {
    url,
    source: 'started',
    program: 'redis-server',
    port,
    pid: Number.isInteger(pid) ? pid : undefined,
    why: 'no Redis was answering; redis-server is on PATH',
  };
}

/** On a fresh Debian/Ubuntu box where we may use apt-get, installing Redis is one command we can run for the user. */
async function installWithApt(opts: ServicesOptions): Promise<string | undefined> {
  const { env, report } = opts;
  if (!which('apt-get', env)) return undefined;
  let prefix: string[] = [];
  if (process.getuid?.() !== 0) {
    if (!which('sudo', env) || (await run('sudo', ['-n', 'true'], { env })).code !== 0) return undefined;
    prefix = ['sudo', '-n'];
  }
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => {
    const [cmd = 'apt-get', ...rest] = [...prefix, 'apt-get', ...args];
    return run(cmd, rest, { env: aptEnv, timeoutMs: 600_000 });
  };
  report.step('redis: installing redis-server with apt-get (once)…');
  let result = await apt(['install', '-y', '-q', 'redis-server']);
  if (result.code !== 0) {
    // A fresh image often has empty package lists.
    await apt(['update', '-q']);
    result = await apt(['install', '-y', '-q', 'redis-server']);
  }
  if (result.code !== 0) {
    report.warn(`redis: apt-get install redis-server failed:\n${tailOf(result.stderr, 5)}`);
    return undefined;
  }
  report.ok('redis: installed redis-server');
  return which('redis-server', env) ?? '/usr/bin/redis-server';
}
