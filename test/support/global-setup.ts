import { randomInt } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import mongoose from 'mongoose';
import type { TestProject } from 'vitest/node';
import { servicesOptionsFromEnv } from '../../src/services/command.js';
import { type Dovecot, startDovecot } from '../../src/services/dovecot.js';
import { type ServiceUrls, servicesUp } from '../../src/services/up.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongodbUri: string;
    redisUrl: string;
    /** Lower-case letters naming this run; every test database and BullMQ prefix starts with it. */
    runToken: string;
    /** Dovecot for the email tests (test/support/dovecot.ts); port 0 with the reason when it could not start. */
    dovecot: { port: number; usersFile: string; configFile: string; error: string };
  }
}

/**
 * Brings up the local services once per run with the same code as `countersign services up` (in-process, from
 * src/, so the suite needs no build), hands their URLs to test files, and drops this run's test data afterwards.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const lines: string[] = [];
  const opts = servicesOptionsFromEnv(process.env, (line) => lines.push(line));
  let urls: ServiceUrls;
  try {
    urls = await servicesUp(opts);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new Error(`local services are not available:\n${[...lines, reason].join('\n')}`);
  }
  const runToken = newRunToken();
  project.provide('mongodbUri', urls.mongodbUri);
  project.provide('redisUrl', urls.redisUrl);
  project.provide('runToken', runToken);
  // Workers forked after this point inherit these, for code that reads its config the production way.
  process.env.MONGODB_URI = urls.mongodbUri;
  process.env.REDIS_URL = urls.redisUrl;
  process.env.COUNTERSIGN_TEST_RUN = runToken;
  const dovecot = await startTestDovecot();
  project.provide('dovecot', dovecot.info);

  return async () => {
    await dovecot.server?.stop();
    if (process.env.COUNTERSIGN_KEEP_TEST_DATA) return;
    await dropRunData(urls, runToken);
  };
}

/** One Dovecot per test run in a fresh folder; email tests add their own users to it. */
async function startTestDovecot(): Promise<{ server?: Dovecot; info: ProvidedDovecot }> {
  try {
    const server = await startDovecot({ dir: mkdtempSync(join(tmpdir(), 'countersign-dovecot-')), env: process.env });
    return {
      server,
      info: { port: server.port, usersFile: server.usersFile, configFile: server.configFile, error: '' },
    };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { info: { port: 0, usersFile: '', configFile: '', error } };
  }
}
type ProvidedDovecot = { port: number; usersFile: string; configFile: string; error: string };

const newRunToken = (): string => Array.from({ length: 8 }, () => String.fromCharCode(97 + randomInt(26))).join('');

/** Drops the databases and BullMQ keys named after this run (see test/support/env.ts), leaving everything else. */
async function dropRunData(urls: ServiceUrls, runToken: string): Promise<void> {
  const client = new mongoose.mongo.MongoClient(urls.mongodbUri, { serverSelectionTimeoutMS: 5_000 });
  try {
    const { databases } = await client.db('admin').admin().listDatabases({ nameOnly: true });
    for (const { name } of databases) {
      if (name.startsWith(`t${runToken}`)) await client.db(name).dropDatabase();
    }
  } finally {
    await client.close();
  }
  const redis = new Redis(urls.redisUrl, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `cs-test-${runToken}-*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
