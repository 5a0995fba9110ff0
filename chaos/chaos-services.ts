import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { servicesOptionsFromEnv } from '../src/services/command.js';
import { ferretdbBinaryPath } from '../src/services/ferretdb.js';
import { findFreePort, isPortOpen } from '../src/services/net.js';
import { localMongoUri, localRedisUrl, pingMongo, pingRedis } from '../src/services/probes.js';
import { readTail, waitUntil, which } from '../src/services/process.js';

/** A Redis or FerretDB of the chaos suite's own, which it may stop and start (never the shared ones). */
export interface ChaosService {
  readonly name: 'redis' | 'mongo';
  /** Where the real server listens (the proxy points here). */
  readonly port: number;
  /** Direct URL, past any proxy, for the driver's own checks. */
  readonly url: string;
  /** Default 'kill' (SIGKILL); resolves when the process has exited and the port is closed. */
  stop(how?: 'kill' | 'term'): Promise<void>;
  /** Same port, same data; resolves when it answers. */
  start(): Promise<void>;
  restart(how?: 'kill' | 'term'): Promise<void>;
  running(): boolean;
  /** Stops it for good (SIGKILL). */
  close(): Promise<void>;
}

/** Starting on a busy 2-core machine (FerretDB opening its SQLite files after a kill) can take a while. */
const READY_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 30_000;

/** Every server started here, so a suite that crashes or forgets close() leaves none behind. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

const killLive = () => {
  for (const c of live) c.kill('SIGKILL');
};

/**
 * 'exit' does not fire when a signal ends the process. Ctrl-C reaches the children anyway (same process group),
 * but a SIGTERM or SIGHUP sent to the suite alone would orphan them: kill them, then let the signal do what it
 * would have done, unless the driver handles it itself.
 */
function onFatalSignal(signal: NodeJS.Signals): void {
  process.once(signal, () => {
    killLive();
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  });
}

function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killLive);
    onFatalSignal('SIGTERM');
    onFatalSignal('SIGHUP');
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/**
 * Ports below Linux's ephemeral range (32768+): a server restarted on its old port must not find it taken by
 * an outgoing connection that the kernel happened to give that number meanwhile.
 */
const sparePort = () => findFreePort(20_000 + randomInt(12_000));

interface ServerSpec {
  name: 'redis' | 'mongo';
  port: number;
  url: string;
  command: string;
  args: string[];
  logFile: string;
  answers: () => Promise<boolean>;
}

function managedServer(spec: ServerSpec): ChaosService {
  let child: ChildProcess | undefined;
  const isRunning = (c: ChildProcess | undefined): c is ChildProcess =>
    c !== undefined && c.exitCode === null && c.signalCode === null;

  const start = async () => {
    if (isRunning(child)) return;
    const fd = openSync(spec.logFile, 'a');
    let started: ChildProcess;
    try {
      started = spawn(spec.command, spec.args, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    let spawnError: Error | undefined;
    started.on('error', (err) => {
      spawnError = err;
    });
    child = started;
    killOnExit(started);
    const up = await waitUntil(async () => !isRunning(started) || (await spec.answers()), READY_TIMEOUT_MS, 100);
    if (!up || !isRunning(started)) {
      started.kill('SIGKILL');
      const why = spawnError?.message ?? readTail(spec.logFile);
      throw new Error(
        `chaos ${spec.name}: ${spec.command} did not answer on 127.0.0.1:${spec.port}${why ? `:\n${why}` : ''}`,
      );
    }
  };

  const stop = async (how: 'kill' | 'term' = 'kill') => {
    const c = child;
    if (!isRunning(c)) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill(how === 'kill' ? 'SIGKILL' : 'SIGTERM');
    const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), EXIT_TIMEOUT_MS).unref());
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      c.kill('SIGKILL');
      await exited;
    }
    if (!(await waitUntil(async () => !(await isPortOpen(spec.port)), EXIT_TIMEOUT_MS, 50))) {
      throw new Error(`chaos ${spec.name}: 127.0.0.1:${spec.port} still accepts connections after the server exited`);
    }
  };

  return {
    name: spec.name,
    port: spec.port,
    url: spec.url,
    stop,
    start,
    async restart(how = 'kill') {
      await stop(how);
      await start();
    },
    running: () => isRunning(child),
    close: () => stop('kill'),
  };
}

/**
 * redis-server in the foreground with an append-only file synced every second: a restart keeps what was
 * queued up to the last second, as a production Redis with AOF would.
 */
export async function startChaosRedis(o: { dir: string; port?: number }): Promise<ChaosService> {
  mkdirSync(o.dir, { recursive: true });
  const port = o.port ?? (await sparePort());
  const url = localRedisUrl(port);
  const command = which('redis-server', process.env) ?? '/usr/bin/redis-server';
  const args = [
    ['--bind', '127.0.0.1'],
    ['--port', String(port)],
    ['--dir', o.dir],
    ['--daemonize', 'no'],
    ['--appendonly', 'yes'],
    ['--appendfsync', 'everysec'],
    ['--save', ''],
    ['--maxmemory-policy', 'noeviction'],
    ['--logfile', ''],
  ].flat();
  const service = managedServer({
    name: 'redis',
    port,
    url,
    command,
    args,
    logFile: join(o.dir, 'redis.log'),
    answers: async () => (await pingRedis(url)).ok,
  });
  await service.start();
  return service;
}

/**
 * The FerretDB that `sh scripts/ensure.sh` built (located, never built, here) on SQLite files in `dir`, started
 * as the services script starts it, in the foreground so the suite can kill it.
 */
export async function startChaosFerretdb(o: { dir: string; port?: number; database: string }): Promise<ChaosService> {
  const binary = ferretdbBinaryPath(servicesOptionsFromEnv(process.env, () => {}));
  if (!existsSync(binary)) {
    throw new Error(`chaos mongo: no FerretDB binary at ${binary}; run sh scripts/ensure.sh first`);
  }
  const sqliteDir = join(o.dir, 'sqlite');
  mkdirSync(sqliteDir, { recursive: true });
  const port = o.port ?? (await sparePort());
  const args = [
    ['-listen', `127.0.0.1:${port}`],
    ['-sqlite-url', `file:${sqliteDir}/?_pragma=synchronous(normal)`],
    ['-log-level', 'error'],
  ].flat();
  const service = managedServer({
    name: 'mongo',
    port,
    url: localMongoUri(port, o.database),
    command: binary,
    args,
    logFile: join(o.dir, 'ferretdb.log'),
    answers: async () => (await pingMongo(localMongoUri(port), 1_000)).ok,
  });
  await service.start();
  return service;
}
