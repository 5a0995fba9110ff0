import express, { type Express } from 'express';
import type { HttpDeps, HttpRoutes } from './deps.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { observe } from './observe.js';
import { refuseDuringOutage } from './outage.js';

export type { HttpDeps, HttpRoutes } from './deps.js';

/**
 * The HTTP surface of CONTRACT.md as an express app; the caller decides where it listens and hands in the
 * routes (handlers/), so the platform names no handler. Bodies are parsed per route with the limit that route
 * needs, and every error ends in `errorHandler`, the one place that maps errors to statuses.
 */
export function createHttpApp(deps: HttpDeps, routes: readonly HttpRoutes[]): Express {
  const app = express();
  app.disable('x-powered-by');
  // Query strings are flat key=value; nested objects (`a[b]=c`) only widen what validation must consider.
  app.set('query parser', 'simple');
  // Per-client limits (sign-in links) need the client's address, which only a trusted proxy may tell.
  if (deps.config.trustProxy !== undefined) app.set('trust proxy', deps.config.trustProxy);
  app.use(observe(deps.metrics, deps.logger));
  if (deps.health) app.use(refuseDuringOutage(deps.health));
  for (const r of routes) app.use(r(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.health));
  return app;
}
