import type { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { DependencyHealth } from '../dependency-health.js';
import type { Engine } from '../engine/types.js';
import type { Metrics } from '../metrics.js';
import type { WorkflowListing } from '../modules/catalogue.js';
import type { Store } from '../store/models.js';

/** Everything the HTTP layer needs, handed in by the composition root. */
export interface HttpDeps {
  config: Config;
  engine: Engine;
  store: Store;
  /** Only pinged by /healthz; the HTTP layer schedules nothing itself. */
  redis: Redis;
  metrics: Metrics;
  /**
   * Whether the store and Redis answer: requests are refused with 503 while one is down, and /healthz and /metrics
   * say which and since when. Without it (HTTP tests on an engine double) outages still answer 503, one by one.
   */
  health?: DependencyHealth;
  logger: Logger;
  /** The clock for link expiry and `usedAt`; tests pass a fixed one. */
  now?: () => Date;
  /** What the modules registered: which workflows `POST /webhooks/:workflow` may start, and `GET /api/workflows`. */
  workflows: WorkflowDirectory;
}

export interface WorkflowDirectory {
  startsByWebhook(name: string): boolean;
  listing(): WorkflowListing[];
}

/** A part of the HTTP surface (handlers/), mounted by the composition root in the order given. */
export type HttpRoutes = (deps: HttpDeps) => Router;
