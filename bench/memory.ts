import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Redis } from 'ioredis';
import { scanKeys } from './services.js';

/**
 * A forced GC without asking the caller for `--expose-gc`: V8 exposes `gc` to contexts created after the flag
 * is set. RSS before and after a collection differs by tens of MB, so the memory figures need it.
 */
function findGc(): (() => void) | undefined {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (existing) return existing;
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

const gc = findGc();

export const canForceGc = gc !== undefined;

export interface ProcessMemory {
  rss: number;
  heapUsed: number;
}

export async function processMemory(): Promise<ProcessMemory> {
  if (gc) {
    // Two rounds: the first frees objects whose finalizers release more.
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  const m = /^used_memory:(\d+)/m.exec(info);
  return m ? Number(m[1]) : Number.NaN;
}

/** MEMORY USAGE summed over every key of the prefix (SAMPLES 0: exact for the hashes and lists BullMQ uses). */
export async function prefixMemory(redis: Redis, prefix: string): Promise<{ keys: number; bytes: number }> {
  const keys = await scanKeys(redis, prefix);
  let bytes = 0;
  for (let i = 0; i < keys.length; i += 200) {
    const pipe = redis.pipeline();
    for (const k of keys.slice(i, i + 200)) pipe.memory('USAGE', k, 'SAMPLES', 0);
    for (const [err, n] of (await pipe.exec()) ?? []) if (!err && typeof n === 'number') bytes += n;
  }
  return { keys: keys.length, bytes };
}
