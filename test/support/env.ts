import { randomInt } from 'node:crypto';
import { inject } from 'vitest';
import { withDatabase } from '../../src/services/mongo-uri.js';

/**
 * Where tests find the local services (brought up once by global-setup.ts) and how they stay out of each other's
 * way: every test gets its own database and BullMQ prefix, named after the run so the global teardown can drop
 * them, and nothing touches the `countersign` database the demo uses.
 */

const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + randomInt(26))).join('');

export function mongodbUri(): string {
  return inject('mongodbUri');
}

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A database name of Latin letters only, as FerretDB requires: `t<run token><label><random>`. */
function testDatabaseName(label = 'db'): string {
  const clean = label.replace(/[^A-Za-z]/g, '').slice(0, 24);
  return `t${inject('runToken')}${clean}${letters(6)}`;
}

/** The services' MongoDB URI pointed at a fresh database, unique per call. */
export function testMongoUri(label = 'db'): string {
  return withDatabase(mongodbUri(), testDatabaseName(label));
}

/** A BullMQ `prefix` unique per call, so queues of parallel test files never share keys. */
export function uniquePrefix(label = 'q'): string {
  return `cs-test-${inject('runToken')}-${label.replace(/[^A-Za-z0-9]/g, '')}-${letters(6)}`;
}
