import { randomInt } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import { SMTPServer } from 'smtp-server';
import { withDatabase } from '../src/services/mongo-uri.js';

/** The bench's own names: a letters-only database (FerretDB accepts no digits or dashes) and BullMQ prefixes. */
export interface BenchNames {
  token: string;
  mongoUri: string;
  database: string;
  appPrefix: string;
  ceilingPrefix: string;
}

const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');

export function benchNames(baseMongoUri: string): BenchNames {
  const token = letters(8);
  const database = `bench${token}`;
  return {
    token,
    database,
    mongoUri: withDatabase(baseMongoUri, database),
    appPrefix: `bench-${token}`,
    ceilingPrefix: `bench-${token}-ceil`,
  };
}

/** Host and port only, for the report: credentials never reach docs/. */
export function publicAddress(uri: string): string {
  return uri.replace(/\/\/[^@/]*@/, '//').replace(/^(mongodb(?:\+srv)?:\/\/[^/?]+).*$/, '$1');
}

export interface SmtpSink {
  url: string;
  received(): number;
  close(): Promise<void>;
}

/** An SMTP server that accepts and drops every message: the app needs a relay, the bench needs no mail. */
export async function startSmtpSink(): Promise<SmtpSink> {
  let count = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onData(stream, _session, callback) {
      stream.on('data', () => {});
      stream.on('end', () => {
        count++;
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received: () => count,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every key under the prefixes, by SCAN (never KEYS: the Redis may be shared). */
export async function scanKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

/** Drops the bench database and deletes its Redis keys; runs on success and failure alike. */
export async function cleanUp(names: BenchNames, redisUrl: string): Promise<void> {
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  try {
    for (const prefix of [names.appPrefix, names.ceilingPrefix]) {
      const keys = await scanKeys(redis, prefix);
      for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
    }
  } finally {
    redis.disconnect();
  }
  const conn = mongoose.createConnection(names.mongoUri, { serverSelectionTimeoutMS: 5_000 });
  try {
    await conn.asPromise();
    await conn.dropDatabase();
  } finally {
    await conn.close();
  }
}
