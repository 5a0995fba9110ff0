import express, { type Express, type RequestHandler } from 'express';
import type { DependencyHealth } from '../dependency-health.js';
import { sendUnavailable } from './errors.js';

/** They report the outage itself, so they must answer during one. */
const ANSWERS_DURING_OUTAGE = new Set(['/healthz', '/metrics']);

/**
 * While the monitor knows the store or Redis is down, every request is answered 503 with Retry-After before it
 * touches either: the drivers would hold it for their timeouts (server selection, mongoose's buffering) only to
 * fail it anyway, and a caller that is told to retry does better than one that waits. The first request of an
 * outage still meets it for real; the error handler reports it, and the monitor's probe ends the refusals.
 */
export function refuseDuringOutage(health: Pick<DependencyHealth, 'isDown'>): RequestHandler {
  return (req, res, next) => {
    const down = health.isDown();
    if (down === undefined || ANSWERS_DURING_OUTAGE.has(req.path)) return next();
    res.locals.log?.debug({ dependency: down }, 'request refused during an outage');
    sendUnavailable(req, res, down);
  };
}

/**
 * Puts the refusal in front of routes mounted ahead of the HTTP app (Slack's receiver reads the raw body before
 * any of ours runs), so Slack is told 503 and retries its event instead of getting a 200 for a dropped one.
 */
export function refuseInFront(app: Express, paths: string[], health: Pick<DependencyHealth, 'isDown'>): Express {
  const outer = express();
  outer.disable('x-powered-by');
  outer.use(paths, refuseDuringOutage(health));
  outer.use(app);
  return outer;
}
