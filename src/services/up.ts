import { ensureMongo } from './mongo.js';
import type { ServicesOptions } from './options.js';
import { ensureRedis } from './redis.js';
import { readState, withLock, writeState } from './state.js';

export interface ServiceUrls {
  mongodbUri: string;
  redisUrl: string;
}

/**
 * Makes sure Redis and a MongoDB-wire server answer, starting what is missing, and records what it chose in
 * .data/services.json. Throws ServicesError with what to install or set.
 */
export async function servicesUp(opts: ServicesOptions): Promise<ServiceUrls> {
  return withLock(opts.paths, opts.report, async () => {
    const state = readState(opts.paths);
    const redis = await ensureRedis(opts, state.redis);
    writeState(opts.paths, { ...state, redis });
    const mongo = await ensureMongo(opts, state.mongo);
    writeState(opts.paths, { ...state, redis, mongo });
    return { mongodbUri: mongo.url, redisUrl: redis.url };
  });
}
