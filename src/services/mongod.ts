import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ServicesOptions } from './options.js';
import { localMongoUri, pingMongo } from './probes.js';
import { readTail, run, waitUntil } from './process.js';
import { ServicesError } from './report.js';
import type { Chosen } from './state.js';

/** Starts a `mongod` found on PATH, forked, with its data in .data/mongo. */
export async function startMongod(opts: ServicesOptions, mongod: string, port: number): Promise<Chosen> {
  const dir = opts.paths.mongo;
  mkdirSync(join(dir, 'db'), { recursive: true });
  const logFile = join(dir, 'mongod.log');
  const pidFile = join(dir, 'mongod.pid');
  opts.report.step(`mongo: starting ${mongod} on 127.0.0.1:${port} (data in ${dir})…`);
  const result = await run(
    mongod,
    [
      '--dbpath',
      join(dir, 'db'),
      '--port',
      String(port),
      '--bind_ip',
      '127.0.0.1',
      '--fork',
      '--logpath',
      logFile,
      '--pidfilepath',
      pidFile,
    ],
    { env: opts.env, timeoutMs: 60_000 },
  );
  const uri = localMongoUri(port);
  const up = result.code === 0 && (await waitUntil(async () => (await pingMongo(uri, 1_000)).ok, 30_000, 250));
  if (!up) {
    const why = readTail(logFile) || result.stdout.trim();
    throw new ServicesError(`mongo: mongod did not start on 127.0.0.1:${port}${why ? `:\n${why}` : ''}`);
  }
  const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
  opts.report.ok(`mongo: answering on 127.0.0.1:${port} (started mongod, pid ${pid})`);
  return {
    url: uri,
    source: 'started',
    program: 'mongod',
    port,
    pid: Number.isInteger(pid) ? pid : undefined,
    why: 'no MONGODB_URI; mongod is on PATH',
  };
}
