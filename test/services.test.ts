import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runServicesCommand, servicesOptionsFromEnv } from '../src/services/command.js';
import { servicesDown } from '../src/services/down.js';
import { ferretdbBinaryPath } from '../src/services/ferretdb.js';
import { findFreePort } from '../src/services/net.js';
import type { ServicesOptions } from '../src/services/options.js';
import { isAlive, which } from '../src/services/process.js';
import { lineReporter } from '../src/services/report.js';
import { readState } from '../src/services/state.js';
import { servicesUp } from '../src/services/up.js';
import { mongodbUri, redisUrl, testMongoUri } from './support/env.js';

const tempDirs: string[] = [];
const tempDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-services-'));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const localPort = (url: string) => /^\w+:\/\/127\.0\.0\.1:(\d+)(\/|$)/.exec(url)?.[1];

/**
 * Environment that points `services up` at the servers this run already uses, so the tests below never start
 * (or stop) anything shared: their ports when they are local, else the URLs themselves.
 */
function sharedEnv(dataDir: string): Record<string, string | undefined> {
  const redisPort = localPort(redisUrl());
  const mongoPort = localPort(mongodbUri());
  const env: Record<string, string | undefined> = { ...process.env, COUNTERSIGN_DATA_DIR: dataDir };
  if (redisPort) Object.assign(env, { REDIS_URL: undefined, COUNTERSIGN_REDIS_PORT: redisPort });
  else env.REDIS_URL = redisUrl();
  if (mongoPort) {
    Object.assign(env, { MONGODB_URI: undefined, COUNTERSIGN_MONGOD_PORT: mongoPort });
    env.COUNTERSIGN_FERRETDB_PORT = mongoPort;
  } else env.MONGODB_URI = mongodbUri();
  return env;
}

describe('services against the servers of this run', () => {
  it('prints exactly two lines on stdout for `env`, progress on stderr', async () => {
    for (const [k, v] of Object.entries(sharedEnv(tempDataDir()))) vi.stubEnv(k, v);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const viaOut: string[] = [];
    let progress: string;
    let out: string[];
    try {
      expect(await runServicesCommand(['env'], (l) => viaOut.push(l))).toBe(0);
      progress = stderr.mock.calls.map(([chunk]) => String(chunk)).join('');
      out = stdout.mock.calls
        .map(([chunk]) => String(chunk))
        .join('')
        .split('\n')
        .filter(Boolean);
    } finally {
      vi.unstubAllEnvs();
      stderr.mockRestore();
      stdout.mockRestore();
    }
    expect(viaOut).toEqual([]);
    expect(out).toHaveLength(2);
    expect(out[0]).toMatch(/^MONGODB_URI=mongodb:\/\/\S+$/);
    expect(out[1]).toMatch(/^REDIS_URL=rediss?:\/\/\S+$/);
    expect(progress).toMatch(/^✓ redis: /m);
  });

  it('reuses servers that already answer instead of starting new ones', async () => {
    const lines: string[] = [];
    const dataDir = tempDataDir();
    const opts = servicesOptionsFromEnv(sharedEnv(dataDir), (l) => lines.push(l));
    const urls = await servicesUp(opts);
    expect(new URL(urls.redisUrl).port).toBe(new URL(redisUrl()).port);
    expect(lines.join('\n')).not.toMatch(/starting|building/);
    const state = readState(opts.paths);
    expect(state.redis?.source).not.toBe('started');
    expect(state.mongo?.source).not.toBe('started');
  });

  it('leaves servers it did not start alone on `down`', async () => {
    const lines: string[] = [];
    const opts = servicesOptionsFromEnv(sharedEnv(tempDataDir()), (l) => lines.push(l));
    await servicesUp(opts);
    expect(await servicesDown(opts)).toBe(true);
    expect(lines.filter((l) => l.includes('left alone'))).toHaveLength(2);
    const redis = new Redis(redisUrl());
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('hands tests a MongoDB-wire server that answers ping, insert and find', async () => {
    const client = new mongoose.mongo.MongoClient(testMongoUri('services'));
    try {
      const db = client.db();
      expect(db.databaseName).toMatch(/^t[a-z]{8}services[a-z]{6}$/);
      expect(await db.command({ ping: 1 })).toMatchObject({ ok: 1 });
      await db.collection('things').insertOne({ _id: 'a' as never, n: 1 });
      expect(await db.collection('things').findOne({ n: 1 })).toEqual({ _id: 'a', n: 1 });
    } finally {
      await client.close();
    }
  });

  it('names a bad MONGODB_URI in one line, without a stack trace', async () => {
    vi.stubEnv('COUNTERSIGN_DATA_DIR', tempDataDir());
    vi.stubEnv('REDIS_URL', redisUrl());
    vi.stubEnv('MONGODB_URI', `mongodb://127.0.0.1:${await findFreePort(41_000)}/countersign`);
    const out: string[] = [];
    try {
      expect(await runServicesCommand(['up'], (l) => out.push(l))).toBe(1);
    } finally {
      vi.unstubAllEnvs();
    }
    const failure = out.filter((l) => l.startsWith('✗'));
    expect(failure).toHaveLength(1);
    expect(failure[0]).toMatch(/MONGODB_URI .* does not answer/);
    expect(out.join('\n')).not.toMatch(/\n\s+at /);
  });
});

const canStartPrivateSet = () => {
  const probe = servicesOptionsFromEnv(process.env, () => undefined);
  return (
    Boolean(which('redis-server', process.env)) &&
    (existsSync(ferretdbBinaryPath(probe)) || Boolean(which('go', process.env)))
  );
};

describe.skipIf(!canStartPrivateSet())('a private set of servers on spare ports', () => {
  let opts: ServicesOptions;
  const lines: string[] = [];

  beforeAll(async () => {
    const redis = await findFreePort(30_000 + Math.floor(Math.random() * 10_000));
    const mongod = await findFreePort(redis + 1);
    const ferretdb = await findFreePort(mongod + 1);
    const env = {
      ...process.env,
      MONGODB_URI: undefined,
      REDIS_URL: undefined,
      COUNTERSIGN_DATA_DIR: tempDataDir(),
      COUNTERSIGN_REDIS_PORT: String(redis),
      COUNTERSIGN_MONGOD_PORT: String(mongod),
      COUNTERSIGN_FERRETDB_PORT: String(ferretdb),
    };
    opts = servicesOptionsFromEnv(env, (l) => lines.push(l));
    await servicesUp(opts);
  });

  afterAll(async () => {
    if (opts) await servicesDown(opts);
  });

  it('starts what is missing and records the pids it started', () => {
    const state = readState(opts.paths);
    expect(state.redis).toMatchObject({ source: 'started', program: 'redis-server', port: opts.ports.redis });
    expect(state.mongo?.source).toBe('started');
    expect(lines.some((l) => l.startsWith('✓ redis: answering'))).toBe(true);
  });

  it('reuses its own servers on the next `up`', async () => {
    const again: string[] = [];
    await servicesUp({ ...opts, report: lineReporter((l) => again.push(l)) });
    expect(again.filter((l) => l.includes('started earlier by services up'))).toHaveLength(2);
  });

  it('stops exactly what it started on `down`', async () => {
    const { redis, mongo } = readState(opts.paths);
    expect(await servicesDown(opts)).toBe(true);
    for (const pid of [redis?.pid, mongo?.pid]) expect(pid && isAlive(pid)).toBe(false);
    expect(readState(opts.paths)).toEqual({ version: 1 });
  });
});
