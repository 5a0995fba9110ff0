import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { isAlive, waitUntil } from './process.js';
import type { Reporter } from './report.js';
import { ServicesError } from './report.js';

/**
 * How a service was chosen. `started` and `docker` are ours to stop on `down`; `env` and `existing` belong to
 * someone else and are left alone.
 */
const chosenSchema = z.object({
  url: z.string(),
  source: z.enum(['env', 'existing', 'started', 'docker']),
  program: z.enum(['redis-server', 'mongod', 'ferretdb', 'docker', 'unknown']),
  port: z.number().int().optional(),
  pid: z.number().int().optional(),
  why: z.string(),
});
export type Chosen = z.infer<typeof chosenSchema>;

const stateSchema = z.object({
  version: z.literal(1),
  redis: chosenSchema.optional(),
  mongo: chosenSchema.optional(),
});
type ServicesState = z.infer<typeof stateSchema>;

export interface Paths {
  root: string;
  data: string;
  stateFile: string;
  lockDir: string;
  redis: string;
  mongo: string;
  ferretdb: string;
}

export function servicesPaths(root: string, dataDir = join(root, '.data')): Paths {
  return {
    root,
    data: dataDir,
    stateFile: join(dataDir, 'services.json'),
    lockDir: join(dataDir, 'services.lock'),
    redis: join(dataDir, 'redis'),
    mongo: join(dataDir, 'mongo'),
    ferretdb: join(dataDir, 'ferretdb'),
  };
}

export function readState(paths: Paths): ServicesState {
  try {
    const parsed = stateSchema.safeParse(JSON.parse(readFileSync(paths.stateFile, 'utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // missing or unreadable: start afresh
  }
  return { version: 1 };
}

export function writeState(paths: Paths, state: ServicesState): void {
  mkdirSync(paths.data, { recursive: true });
  const tmp = `${paths.stateFile}.${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, paths.stateFile);
}

/**
 * Serialises `up`/`down` across processes (two terminals, `npm test` next to `npm run demo`) so that two of them
 * never build or start the same server at once. A lock left by a dead process is taken over.
 */
export async function withLock<T>(paths: Paths, report: Reporter, fn: () => Promise<T>): Promise<T> {
  mkdirSync(paths.data, { recursive: true });
  const ownerFile = join(paths.lockDir, 'pid');
  let announced = false;
  const tryTake = (): boolean => {
    try {
      mkdirSync(paths.lockDir);
      writeFileSync(ownerFile, String(process.pid));
      return true;
    } catch {
      const owner = Number.parseInt(safeRead(ownerFile), 10);
      if (Number.isInteger(owner) && owner > 0 && !isAlive(owner)) {
        rmSync(paths.lockDir, { recursive: true, force: true });
        return tryTake();
      }
      if (!announced) {
        announced = true;
        report.step(`waiting for another \`services up\` to finish (pid ${Number.isNaN(owner) ? '?' : owner})…`);
      }
      return false;
    }
  };
  // A build takes about a minute; waiting a little longer than that covers a slow machine.
  if (!(await waitUntil(tryTake, 240_000, 250))) {
    throw new ServicesError(`another \`services up\` still holds ${paths.lockDir}; remove it if no such process runs`);
  }
  try {
    return await fn();
  } finally {
    rmSync(paths.lockDir, { recursive: true, force: true });
  }
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
