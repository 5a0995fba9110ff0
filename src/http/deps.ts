import type { Router } from 'express';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Mailer } from '../channels/mailer.js';
import type { Config } from '../config.js';
import type { FormLinkRegistry } from '../console/form-link-registry.js';
import type { RateLimiter } from '../console/rate-limit.js';
import type { ConsoleSessions } from '../console/sessions.js';
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
  /** What the browser console needs beyond the engine: sessions, mail for sign-in links, limits, queue depth. */
  console: ConsoleServices;
}

export interface QueueDepth {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface ConsoleServices {
  sessions: ConsoleSessions;
  /** Sends sign-in links; `send` is idempotent per effect key like every other mail. */
  mailer: Mailer;
  /** Sign-in link requests: per client address and per email address asked for. */
  signInLimits: { perClient: RateLimiter; perAddress: RateLimiter };
  /** Submissions through a public form link, per workflow and client address. */
  publicSubmits: RateLimiter;
  /** Public form links made by admins, so one can be withdrawn before it expires. */
  formLinks: FormLinkRegistry;
  queueDepth(): Promise<QueueDepth[]>;
}

export interface WorkflowDirectory {
  startsByWebhook(name: string): boolean;
  listing(): WorkflowListing[];
  /**
   * What is wrong with `input` for the named workflow (empty when it would start), so that a form can refuse
   * before it stores anything; the engine checks again when the run starts.
   */
  inputProblems(name: string, input: unknown): { path: string; message: string }[];
}

/** A part of the HTTP surface (handlers/), mounted by the composition root in the order given. */
export type HttpRoutes = (deps: HttpDeps) => Router;
