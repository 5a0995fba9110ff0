import { Router } from 'express';
import { z } from 'zod';
import { requireBearer } from '../src/http/auth.js';
import type { HttpDeps } from '../src/http/deps.js';
import { parseOrThrow } from '../src/http/validate.js';

/** A date (`2026-11-01`, midnight UTC) or a time with its offset (`2026-11-01T08:00:00Z`). */
const instant = z.union([z.iso.datetime({ offset: true }), z.iso.date()], {
  error: 'expected an ISO 8601 date or time, e.g. 2026-11-01 or 2026-11-01T08:00:00Z',
});

const agreementQuery = z
  .strictObject({
    workflow: z.string().trim().min(1).max(100).optional(),
    since: instant.optional(),
    until: instant.optional(),
  })
  .refine((q) => !q.since || !q.until || Date.parse(q.since) <= Date.parse(q.until), {
    message: 'since must not be after until',
    path: ['since'],
  });

/**
 * `GET /api/agreement?workflow=&since=&until=` (Bearer COUNTERSIGN_API_TOKEN): how often people kept the AI's
 * proposal, per workflow and per agent, over decisions in the period (all time without `since`).
 */
export function agreementRoutes(deps: Pick<HttpDeps, 'config' | 'engine'>): Router {
  const router = Router();
  router.use('/api/agreement', requireBearer(deps.config.apiToken));
  router.get('/api/agreement', async (req, res) => {
    const q = parseOrThrow(agreementQuery, req.query, 'query');
    const stats = await deps.engine.agreementStats({
      ...(q.workflow ? { workflow: q.workflow } : {}),
      ...(q.since ? { since: new Date(q.since) } : {}),
      ...(q.until ? { until: new Date(q.until) } : {}),
    });
    res.json({
      ...(q.workflow ? { workflow: q.workflow } : {}),
      since: q.since ?? null,
      until: q.until ?? null,
      ...stats,
    });
  });
  return router;
}
