import { composeUp, dockerAvailable } from './docker.js';
import { ferretdbBinary, GO_HINT, startFerretdb } from './ferretdb.js';
import { startMongod } from './mongod.js';
import { findFreePort, isPortOpen } from './net.js';
import { DEFAULT_PORTS, type ServicesOptions } from './options.js';
import { localMongoUri, mongoWritable, pingMongo } from './probes.js';
import { isOurProcess, waitUntil, which } from './process.js';
import { redactUrl, ServicesError } from './report.js';
import type { Chosen } from './state.js';

/**
 * Picks a MongoDB-wire server, in the order of ARCHITECTURE.md: MONGODB_URI; ours from an earlier `up`; one
 * already answering; `mongod` on PATH; FerretDB built with Go; Docker.
 */
export async function ensureMongo(opts: ServicesOptions, previous: Chosen | undefined): Promise<Chosen> {
  const { env, report } = opts;
  if (env.MONGODB_URI) {
    const uri = env.MONGODB_URI;
    const probe = await pingMongo(uri, 5_000);
    if (!probe.ok) {
      throw new ServicesError(
        `mongo: MONGODB_URI (${redactUrl(uri)}) does not answer: ${probe.reason}; fix it or unset it`,
      );
    }
    report.ok(`mongo: using MONGODB_URI (${redactUrl(uri)})`);
    return { url: uri, source: 'env', program: 'unknown', why: 'MONGODB_URI is set' };
  }

  const { mongod: mongodPort, ferretdb: ferretdbPort } = opts.ports;
  const reused = await reusePrevious(opts, previous);
  if (reused) return reused;

  if ((await probePort(mongodPort)) === 'mongo') {
    if (previous?.source === 'docker') {
      report.ok(`mongo: answering on 127.0.0.1:${mongodPort} (docker compose)`);
      return { ...previous, url: localMongoUri(mongodPort) };
    }
    report.ok(`mongo: answering on 127.0.0.1:${mongodPort} (already running, reusing it)`);
    return existing(mongodPort, `a MongoDB-wire server already answered on 127.0.0.1:${mongodPort}`);
  }

  const mongod = which('mongod', env);
  if (mongod) {
    const port = (await isPortOpen(mongodPort)) ? await findFreePort(mongodPort + 1) : mongodPort;
    return startMongod(opts, mongod, port);
  }

  let ferretPort = ferretdbPort;
  const onFerretPort = await probePort(ferretdbPort);
  if (onFerretPort === 'mongo') {
    report.ok(`ferretdb: answering on 127.0.0.1:${ferretdbPort} (already running, reusing it)`);
    return existing(ferretdbPort, `a MongoDB-wire server already answered on 127.0.0.1:${ferretdbPort}`);
  }
  if (onFerretPort === 'other') {
    ferretPort = await findFreePort(ferretdbPort + 1);
    report.warn(
      `ferretdb: 127.0.0.1:${ferretdbPort} is taken by something that is not a working MongoDB-wire server; using ${ferretPort}`,
    );
  }
  const binary = await ferretdbBinary(opts);
  if (binary) return startFerretdb(opts, binary, ferretPort);

  // docker-compose.yml publishes the default port only.
  if (mongodPort === DEFAULT_PORTS.mongod && !(await isPortOpen(mongodPort)) && (await dockerAvailable(env))) {
    report.step('mongo: no mongod and no Go here; starting mongo:7 with docker compose…');
    await composeUp(opts, 'mongo');
    const uri = localMongoUri(mongodPort);
    if (!(await waitUntil(async () => (await pingMongo(uri, 1_000)).ok, 120_000, 1_000))) {
      throw new ServicesError('mongo: docker compose started mongo but it does not answer on 127.0.0.1:27017');
    }
    report.ok(`mongo: answering on 127.0.0.1:${mongodPort} (docker compose)`);
    return {
      url: uri,
      source: 'docker',
      program: 'docker',
      port: mongodPort,
      why: 'no mongod or Go; Docker answered',
    };
  }
  throw new ServicesError(`mongo: no MongoDB-compatible server found. ${GO_HINT} (or install MongoDB 7's mongod)`);
}

async function reusePrevious(opts: ServicesOptions, previous: Chosen | undefined): Promise<Chosen | undefined> {
  if (previous?.source !== 'started' || !previous.pid || !previous.port) return undefined;
  if (!isOurProcess(previous.pid, previous.program)) return undefined;
  const uri = localMongoUri(previous.port);
  if (!(await mongoWritable(uri)).ok) return undefined;
  const name = previous.program === 'ferretdb' ? 'ferretdb' : 'mongo';
  opts.report.ok(
    `${name}: answering on 127.0.0.1:${previous.port} (started earlier by services up, pid ${previous.pid})`,
  );
  return { ...previous, url: uri };
}

/** `other`: something that is not a usable MongoDB-wire server (not MongoDB, or one that cannot write). */
async function probePort(port: number): Promise<'none' | 'mongo' | 'other'> {
  if (!(await isPortOpen(port))) return 'none';
  return (await mongoWritable(localMongoUri(port))).ok ? 'mongo' : 'other';
}

const existing = (port: number, why: string): Chosen => ({
  url: localMongoUri(port),
  source: 'existing',
  program: 'unknown',
  port,
  why,
});
