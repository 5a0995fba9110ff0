import express, { type Express } from 'express';
import { apiRoutes } from '../../handlers/api.js';
import { approvalRoutes } from '../../handlers/approvals.js';
import { emailReviewRoutes } from '../../handlers/email/review.js';
import { healthRoutes } from '../../handlers/health.js';
import { webhookRoutes } from '../../handlers/webhooks.js';
import { dashboardRoutes } from './dashboard.js';
import type { HttpDeps } from './deps.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { observe } from './observe.js';

export type { HttpDeps } from './deps.js';

/**
 * The HTTP surface of CONTRACT.md as an express app; the caller decides where it listens. Bodies are parsed per
 * route with the limit that route needs, and every error ends in `errorHandler`, the one place that maps
 * errors to statuses.
 */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Query strings are flat key=value; nested objects (`a[b]=c`) only widen what validation must consider.
  app.set('query parser', 'simple');
  app.use(observe(deps.metrics, deps.logger));
  app.use(healthRoutes(deps));
  app.use(webhookRoutes(deps));
  app.use(emailReviewRoutes(deps));
  app.use(apiRoutes(deps));
  app.use(approvalRoutes(deps));
  app.use(dashboardRoutes(deps));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
