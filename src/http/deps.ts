import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Engine } from '../engine/types.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/models.js';

/** Everything the HTTP layer needs, handed in by the composition root. */
export interface HttpDeps {
  config: Config;
  engine: Engine;
  store: Store;
  /** Only pinged by /healthz; the HTTP layer schedules nothing itself. */
  redis: Redis;
  metrics: Metrics;
  logger: Logger;
  /** The clock for link expiry and `usedAt`; tests pass a fixed one. */
  now?: () => Date;
}
