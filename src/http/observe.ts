import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Metrics } from '../metrics.js';

declare global {
  namespace Express {
    interface Locals {
      requestId?: string;
      /** Child logger with `requestId` bound. */
      log?: Logger;
    }
  }
}

/** A caller's id is kept only when it is short and plain, so it is safe in headers, logs and pages. */
const incomingId = z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/);

/**
 * Request id, child logger and request counting. Counted by route pattern, never by URL: URLs carry ids and
 * approval tokens, which would explode label cardinality and leak capabilities into metrics and logs.
 */
export function observe(metrics: Metrics, logger: Logger): RequestHandler {
  return (req, res, next) => {
    const given = incomingId.safeParse(req.get('x-request-id'));
    const requestId = given.success ? given.data : randomUUID();
    res.locals.requestId = requestId;
    const log = logger.child({ requestId });
    res.locals.log = log;
    res.set('x-request-id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      const status = String(res.statusCode);
      metrics.httpRequests.inc({ route, status });
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      log.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(ms) }, 'request');
    });
    next();
  };
}
