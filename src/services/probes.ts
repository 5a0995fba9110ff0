import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { describeError } from './report.js';

type Probe = { ok: true } | { ok: false; reason: string };

/** A Redis client that fails fast instead of retrying: probes must answer in seconds. */
async function withRedis<T>(url: string, fn: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  // The socket error (ECONNREFUSED, ...) says more than the "Connection is closed." that connect() rejects with.
  let socketError: unknown;
  redis.on('error', (err: unknown) => {
    socketError = err;
  });
  try {
    await redis.connect().catch((err: unknown) => {
      throw socketError ?? err;
    });
    return await fn(redis);
  } finally {
    redis.disconnect();
  }
}

export async function pingRedis(url: string): Promise<Probe> {
  try {
    const reply = await withRedis(url, (r) => r.ping());
    return reply === 'PONG' ? { ok: true } : { ok: false, reason: `PING answered ${reply}` };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  }
}

type PolicyCheck =
  | { kind: 'ok' }
  | { kind: 'changed'; from: string }
  | { kind: 'refused'; current: string; reason: string };

/**
 * BullMQ loses jobs silently when Redis evicts keys, so a Redis we did not configure is asked for `noeviction`.
 * `change` false only reports (a server named by REDIS_URL belongs to someone else).
 */
export async function ensureNoEviction(url: string, change: boolean): Promise<PolicyCheck> {
  try {
    return await withRedis(url, async (r) => {
      const reply = (await r.config('GET', 'maxmemory-policy')) as unknown;
      const current = Array.isArray(reply) && typeof reply[1] === 'string' ? reply[1] : 'unknown';
      if (current === 'noeviction') return { kind: 'ok' } as const;
      if (!change) return { kind: 'refused', current, reason: 'not changed: REDIS_URL is yours' } as const;
      try {
        await r.config('SET', 'maxmemory-policy', 'noeviction');
        return { kind: 'changed', from: current } as const;
      } catch (err) {
        return { kind: 'refused', current, reason: describeError(err) } as const;
      }
    });
  } catch (err) {
    // CONFIG may be renamed or disabled on managed Redis; that is not fatal.
    return { kind: 'refused', current: 'unknown', reason: describeError(err) };
  }
}

/** Sends `ping` over the MongoDB wire protocol: answers for mongod and FerretDB alike. */
export async function pingMongo(uri: string, timeoutMs = 2_000): Promise<Probe> {
  const client = new mongoose.mongo.MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

/**
 * A ping is not enough to reuse a server: a FerretDB whose data folder was deleted under it still answers `ping`
 * but cannot create a database. This writes to a throwaway database and drops it.
 */
export async function mongoWritable(uri: string, timeoutMs = 5_000): Promise<Probe> {
  const client = new mongoose.mongo.MongoClient(uri, {
    serverSelectionTimeoutMS: timeoutMs,
    connectTimeoutMS: timeoutMs,
  });
  const db = `csprobe${Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('')}`;
  try {
    await client.connect();
    await client.db(db).collection('probe').insertOne({ at: new Date() });
    await client.db(db).dropDatabase();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: describeError(err) };
  } finally {
    await client.close().catch(() => undefined);
  }
}

export const localMongoUri = (port: number, db = 'countersign') => `mongodb://127.0.0.1:${port}/${db}`;
export const localRedisUrl = (port: number) => `redis://127.0.0.1:${port}`;
