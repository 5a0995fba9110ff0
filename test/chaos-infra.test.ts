import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ChaosService, startChaosFerretdb, startChaosRedis } from '../chaos/chaos-services.js';
import { type FaultProxy, startFaultProxy } from '../chaos/fault-proxy.js';
import { between, pick, seededRandom } from '../chaos/random.js';
import { describeFault, type Fault, faultSchedule, type ScheduleOptions } from '../chaos/schedule.js';
import { pingMongo } from '../src/services/probes.js';
import { waitUntil } from '../src/services/process.js';

const DEADLINE_MS = 60_000;

const until = async (what: string, check: () => boolean | Promise<boolean>) => {
  if (!(await waitUntil(check, DEADLINE_MS, 50))) throw new Error(`timed out waiting for ${what}`);
};

/** A client that gives up on a command when its connection drops, and keeps reconnecting. */
const proxiedRedis = (port: number) =>
  new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 0, retryStrategy: () => 50, lazyConnect: true });

const dirs: string[] = [];
const scratchDir = (label: string) => {
  const dir = mkdtempSync(join(tmpdir(), `chaos-${label}-`));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('the fault proxy in front of Redis', () => {
  let redisServer: ChaosService;
  let proxy: FaultProxy;
  const clients: Redis[] = [];
  const client = async () => {
    const c = proxiedRedis(proxy.port);
    c.on('error', () => {});
    clients.push(c);
    await c.connect();
    return c;
  };

  beforeAll(async () => {
    redisServer = await startChaosRedis({ dir: scratchDir('proxy') });
    proxy = await startFaultProxy({
      upstream: { host: '127.0.0.1', port: redisServer.port },
      random: seededRandom(7),
    });
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await proxy?.close();
    await redisServer?.close();
  });

  it('forwards commands and replies unchanged', async () => {
    const redis = await client();
    await redis.set('greeting', 'hello through the proxy');
    expect(await redis.get('greeting')).toBe('hello through the proxy');
    expect(proxy.stats()).toMatchObject({ connections: expect.any(Number), bytes: expect.any(Number) });
    expect(proxy.stats().bytes).toBeGreaterThan(0);
  });

  it('cuts a connection mid-request, and the client gets through again once the faults are cleared', async () => {
    const redis = await client();
    const cutsBefore = proxy.stats().cuts;
    proxy.setFaults({ cutRate: 1 });
    try {
      await expect(redis.ping()).rejects.toThrow();
      expect(proxy.stats().cuts).toBeGreaterThan(cutsBefore);
    } finally {
      proxy.setFaults({ cutRate: 0 });
    }
    await until('a ping through the proxy', async () => (await redis.ping().catch(() => null)) === 'PONG');
  });

  it('delays each direction by the latency asked for', async () => {
    const redis = await client();
    proxy.setFaults({ latencyMs: { min: 60, max: 80 } });
    try {
      const started = performance.now();
      await redis.ping();
      expect(performance.now() - started).toBeGreaterThanOrEqual(115);
    } finally {
      proxy.setFaults({ latencyMs: { min: 0, max: 0 } });
    }
  });

  it('keeps replies in order under jitter: a pipeline of 200 INCRs counts 1 to 200', async () => {
    const redis = await client();
    proxy.setFaults({ latencyMs: { min: 0, max: 15 } });
    try {
      const pipeline = redis.pipeline();
      for (let i = 0; i < 200; i++) pipeline.incr('pipelined');
      const replies = (await pipeline.exec()) ?? [];
      expect(replies.map(([err, value]) => err ?? value)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      // Sent one command per write, so the proxy sees (and delays) many small chunks.
      const one = await Promise.all(Array.from({ length: 200 }, () => redis.incr('one-by-one')));
      expect(one).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    } finally {
      proxy.setFaults({ latencyMs: { min: 0, max: 0 } });
    }
  });

  it('refuses new connections and cuts open ones while down, and forwards again once up', async () => {
    const open = await client();
    const closed = new Promise<void>((resolve) => open.once('close', () => resolve()));
    const refusedBefore = proxy.stats().refused;
    proxy.setDown(true);
    await closed;
    try {
      const late = new Redis({
        host: '127.0.0.1',
        port: proxy.port,
        lazyConnect: true,
        retryStrategy: () => null,
        maxRetriesPerRequest: 0,
      });
      late.on('error', () => {});
      await expect(late.connect().then(() => late.ping())).rejects.toThrow();
      late.disconnect();
      expect(proxy.stats().refused).toBeGreaterThan(refusedBefore);
    } finally {
      proxy.setDown(false);
    }
    const again = await client();
    expect(await again.ping()).toBe('PONG');
  });
});

describe('the fault proxy at the byte level', () => {
  let echo: Server;
  let echoPort = 0;

  beforeAll(async () => {
    echo = createServer((socket) => {
      socket.on('error', () => {});
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', () => resolve()));
    const address = echo.address();
    echoPort = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => echo.close(() => resolve()));
  });

  const connect = (port: number) =>
    new Promise<Socket>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });

  it('never reorders bytes in a direction, whatever the jitter', async () => {
    const proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort }, random: seededRandom(1) });
    proxy.setFaults({ latencyMs: { min: 0, max: 30 } });
    const socket = await connect(proxy.port);
    let received = '';
    socket.on('data', (b: Buffer) => {
      received += b.toString();
    });
    const sent: string[] = [];
    for (let i = 0; i < 200; i++) {
      sent.push(`${i},`);
      socket.write(`${i},`);
      // Separate chunks, each with its own delay.
      await new Promise((r) => setImmediate(r));
    }
    await until('every byte echoed back', () => received.length === sent.join('').length);
    expect(received).toBe(sent.join(''));
    socket.destroy();
    await proxy.close();
  });

  it('closes the client connection when the upstream refuses', async () => {
    const nowhere = createServer();
    await new Promise<void>((resolve) => nowhere.listen(0, '127.0.0.1', () => resolve()));
    const address = nowhere.address();
    const deadPort = typeof address === 'object' && address ? address.port : 0;
    await new Promise<void>((resolve) => nowhere.close(() => resolve()));

    const proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: deadPort }, random: seededRandom(2) });
    const socket = await connect(proxy.port);
    socket.on('error', () => {});
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
    expect(proxy.stats()).toMatchObject({ connections: 1, refused: 1, open: 0 });
    await proxy.close();
  });

  it('cutAll destroys every open connection and says how many', async () => {
    const proxy = await startFaultProxy({ upstream: { host: '127.0.0.1', port: echoPort }, random: seededRandom(3) });
    const sockets = await Promise.all([connect(proxy.port), connect(proxy.port), connect(proxy.port)]);
    const closed = sockets.map((s) => {
      s.on('error', () => {});
      return new Promise<void>((resolve) => s.once('close', () => resolve()));
    });
    await until('three open connections', () => proxy.stats().open === 3);
    expect(proxy.cutAll()).toBe(3);
    await Promise.all(closed);
    expect(proxy.stats()).toMatchObject({ open: 0, cuts: 3 });
    await proxy.close();
  });
});

describe('a chaos Redis', () => {
  it('keeps what was written across a restart (append-only file)', async () => {
    const service = await startChaosRedis({ dir: scratchDir('redis') });
    const redis = new Redis(service.url, { maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    redis.on('error', () => {});
    try {
      await redis.set('survivor', 'still here');
      await service.restart('term');
      expect(service.running()).toBe(true);
      await until(
        'the key read back after the restart',
        async () => (await redis.get('survivor').catch(() => null)) === 'still here',
      );
    } finally {
      redis.disconnect();
      await service.close();
    }
    expect(service.running()).toBe(false);
  });
});

// npm test's setup installs Redis and builds FerretDB: a missing one fails here rather than skipping unseen.
describe('a chaos FerretDB', () => {
  let service: ChaosService;
  beforeAll(async () => {
    service = await startChaosFerretdb({ dir: scratchDir('ferretdb'), database: 'chaosinfra' });
  });
  afterAll(async () => {
    await service?.close();
  });

  it('serves the MongoDB driver through the proxy, with latency and after every connection was cut', async () => {
    const proxy = await startFaultProxy({
      upstream: { host: '127.0.0.1', port: service.port },
      random: seededRandom(5),
    });
    const client = new mongoose.mongo.MongoClient(`mongodb://127.0.0.1:${proxy.port}/chaosinfra`, {
      serverSelectionTimeoutMS: 60_000,
    });
    try {
      proxy.setFaults({ latencyMs: { min: 0, max: 10 } });
      const docs = client.db().collection<{ _id: string; n: number }>('proxied');
      await docs.insertMany(Array.from({ length: 50 }, (_, n) => ({ _id: `d${n}`, n })));
      expect(proxy.cutAll()).toBeGreaterThan(0);
      await until('a read after the cut', async () => (await docs.countDocuments().catch(() => -1)) === 50);
    } finally {
      await client.close().catch(() => undefined);
      await proxy.close();
    }
  });

  it('stops on SIGKILL, refuses meanwhile, and keeps the committed document when started again', async () => {
    const client = new mongoose.mongo.MongoClient(service.url, { serverSelectionTimeoutMS: 60_000 });
    try {
      const docs = client.db().collection<{ _id: string; note: string }>('docs');
      await docs.insertOne({ _id: 'kept', note: 'written before the kill' });
      await service.stop('kill');
      expect(service.running()).toBe(false);
      expect((await pingMongo(service.url, 500)).ok).toBe(false);
      await service.start();
      expect(await docs.findOne({ _id: 'kept' })).toEqual({ _id: 'kept', note: 'written before the kill' });
    } finally {
      await client.close().catch(() => undefined);
    }
  });
});

describe('the seeded random', () => {
  it('replays the same numbers for a seed, all in [0, 1)', () => {
    const a = seededRandom(99);
    const b = seededRandom(99);
    const numbers = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(numbers);
    expect(numbers.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(numbers).size).toBeGreaterThan(990);
    const r = seededRandom(1);
    for (let i = 0; i < 100; i++) {
      expect(['a', 'b', 'c']).toContain(pick(r, ['a', 'b', 'c']));
      const x = between(r, 5, 7);
      expect(x >= 5 && x < 7).toBe(true);
    }
  });
});

describe('the fault schedule', () => {
  const options: ScheduleOptions = {
    durationMs: 120_000,
    killEveryMs: 2_000,
    storeStops: 2,
    storeStopMs: 10_000,
    redisRestarts: 1,
    proxyEpisodes: 3,
    cutRate: 0.002,
  };
  const end = (f: Fault) => f.at + ('durationMs' in f ? f.durationMs : 0);

  it('replays the same timeline for a seed, and another for another seed', () => {
    expect(faultSchedule(42, options)).toEqual(faultSchedule(42, options));
    expect(faultSchedule(43, options)).not.toEqual(faultSchedule(42, options));
  });

  it('is sorted, kills a worker about every 2 s, and has the outages and episodes asked for', () => {
    const faults = faultSchedule(42, options);
    expect(faults.map((f) => f.at)).toEqual([...faults.map((f) => f.at)].sort((a, b) => a - b));
    const count = (kind: Fault['kind']) => faults.filter((f) => f.kind === kind).length;
    expect(count('kill-worker')).toBeGreaterThan(40);
    expect(count('kill-worker')).toBeLessThan(70);
    expect(count('stop-store')).toBe(2);
    expect(count('restart-redis')).toBe(1);
    expect(count('proxy-faults')).toBe(6);
    expect(count('cut-connections')).toBe(6);
  });

  it('never overlaps store stops with each other or with a redis restart, and leaves the last 10 % quiet', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const faults = faultSchedule(seed, options);
      for (const f of faults) {
        expect(f.at).toBeGreaterThanOrEqual(f.kind === 'kill-worker' ? 0 : options.durationMs * 0.05);
        expect(end(f)).toBeLessThanOrEqual(options.durationMs * 0.9);
      }
      const outages = faults.filter((f) => f.kind === 'stop-store' || f.kind === 'restart-redis');
      for (let i = 1; i < outages.length; i++) {
        const previous = outages[i - 1]!;
        // A redis restart is given 5 s of room; any two outages are at least 2 s apart.
        const previousEnd = previous.kind === 'restart-redis' ? previous.at + 5_000 : end(previous);
        expect(outages[i]!.at).toBeGreaterThanOrEqual(previousEnd + 2_000);
      }
    }
  });

  it('refuses options that cannot fit before the quiet tail', () => {
    expect(() => faultSchedule(1, { ...options, durationMs: 20_000 })).toThrow(RangeError);
  });

  it('describes each fault in one line for the report', () => {
    const lines = faultSchedule(42, options).map(describeFault);
    expect(lines.every((line) => !line.includes('\n'))).toBe(true);
    expect(describeFault({ kind: 'stop-store', at: 12_400, durationMs: 10_000 })).toBe(
      '  12.4 s  store stopped for 10.0 s',
    );
  });
});
