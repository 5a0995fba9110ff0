import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ServicesOptions } from './options.js';
import { localMongoUri, pingMongo } from './probes.js';
import { isAlive, readTail, run, startDetached, tailOf, waitUntil, which } from './process.js';
import { ServicesError } from './report.js';
import type { Chosen } from './state.js';

export const GO_HINT = 'install Go 1.24+ (https://go.dev/dl/) or set MONGODB_URI';

const SOURCES = ['main.go', 'go.mod', 'go.sum'];

/** Where the binary for this exact source lives; a changed main.go or go.sum gets a new folder. */
export function ferretdbBinaryPath(opts: ServicesOptions): string {
  const src = join(opts.paths.root, 'services', 'ferretdb');
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(file).update(readFileSync(join(src, file)));
  const cache = opts.env.XDG_CACHE_HOME || join(opts.env.HOME || homedir(), '.cache');
  return join(cache, 'countersign', `ferretdb-${hash.digest('hex').slice(0, 12)}`, 'ferretdb');
}

/**
 * The FerretDB binary, built once with Go from services/ferretdb (modules come from the Go module proxy).
 * Undefined when it is not built and Go is missing, so the caller can try Docker.
 */
export async function ferretdbBinary(opts: ServicesOptions): Promise<string | undefined> {
  const binary = ferretdbBinaryPath(opts);
  if (existsSync(binary)) return binary;
  if (!which('go', opts.env)) return undefined;

  const finalDir = join(binary, '..');
  // A build goes to a temporary folder renamed into place at the end, so an interrupted build is never reused.
  const tmpDir = `${finalDir}.tmp-${process.pid}`;
  removeAbandonedBuilds(join(finalDir, '..'));
  mkdirSync(tmpDir, { recursive: true });
  opts.report.step('ferretdb: building from the Go module proxy (once, about a minute)…');
  const started = Date.now();
  const result = await run('go', ['build', '-trimpath', '-o', join(tmpDir, 'ferretdb'), '.'], {
    cwd: join(opts.paths.root, 'services', 'ferretdb'),
    env: { ...opts.env, CGO_ENABLED: '0' },
    timeoutMs: 900_000,
  });
  if (result.code !== 0) {
    rmSync(tmpDir, { recursive: true, force: true });
    throw new ServicesError(`ferretdb: go build failed (${GO_HINT}):\n${tailOf(result.stderr, 10)}`);
  }
  try {
    renameSync(tmpDir, finalDir);
  } catch {
    // Another process finished the same build first; theirs is as good as ours.
    rmSync(tmpDir, { recursive: true, force: true });
  }
  opts.report.ok(`ferretdb: built in ${Math.round((Date.now() - started) / 1000)} s (${binary})`);
  return binary;
}

function removeAbandonedBuilds(cacheDir: string): void {
  let names: string[] = [];
  try {
    names = readdirSync(cacheDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^ferretdb-[0-9a-f]+\.tmp-(\d+)$/.exec(name);
    if (m && !isAlive(Number(m[1]))) rmSync(join(cacheDir, name), { recursive: true, force: true });
  }
}

/** Starts FerretDB detached with its SQLite files in .data/ferretdb/sqlite and waits until it answers `ping`. */
export async function startFerretdb(opts: ServicesOptions, binary: string, port: number): Promise<Chosen> {
  const dir = opts.paths.ferretdb;
  const sqliteDir = join(dir, 'sqlite');
  mkdirSync(sqliteDir, { recursive: true });
  const logFile = join(dir, 'ferretdb.log');
  writeFileSync(logFile, '');
  opts.report.step(`ferretdb: starting on 127.0.0.1:${port} (SQLite files in ${sqliteDir})…`);
  // WAL with synchronous=NORMAL: a commit survives a crash of FerretDB or of us, not a power cut; for a development
  // and test store that halves the cost of every write (measured: update 5.5 → 2.3 ms), which is most of a run.
  const sqliteUrl = `file:${sqliteDir}/?_pragma=synchronous(normal)`;
  const args = ['-listen', `127.0.0.1:${port}`, '-sqlite-url', sqliteUrl, '-log-level', 'error'];
  const pid = startDetached(binary, args, logFile, opts.env);
  writeFileSync(join(dir, 'ferretdb.pid'), `${pid}\n`);

  const uri = localMongoUri(port);
  let answering = false;
  await waitUntil(
    async () => {
      if (!isAlive(pid)) return true;
      answering = (await pingMongo(uri, 1_000)).ok;
      return answering;
    },
    30_000,
    200,
  );
  if (!answering) {
    const why = readTail(logFile);
    throw new ServicesError(
      `ferretdb: did not answer on 127.0.0.1:${port}${why ? `:\n${why}` : ''}\n  (log: ${logFile}; or set MONGODB_URI)`,
    );
  }
  opts.report.ok(`ferretdb: answering on 127.0.0.1:${port} (started, pid ${pid})`);
  return {
    url: uri,
    source: 'started',
    program: 'ferretdb',
    port,
    pid,
    why: 'no MONGODB_URI and no mongod; FerretDB with SQLite needs only Go',
  };
}
