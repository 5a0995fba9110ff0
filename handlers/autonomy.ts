import { Router } from 'express';
import { z } from 'zod';
import {
  type AutonomyServiceDeps,
  applyRecommendation,
  autonomyReport,
  type Failure,
  revokeSliceGrant,
  setSliceLevel,
} from '../src/autonomy/service.js';
import { InvalidInput, NotFound } from '../src/errors.js';
import { requireBearer } from '../src/http/auth.js';
import { jsonBody, requireJson } from '../src/http/body.js';
import type { HttpDeps } from '../src/http/deps.js';
import { HttpProblem } from '../src/http/errors.js';
import { parseOrThrow } from '../src/http/validate.js';
import { AUTONOMY_LEVELS } from '../src/settings.js';

const actor = z.string().trim().min(1, 'say who applies it (an email or a name)').max(200);
const reason = z.string().trim().max(2_000).optional();
const band = z.string().trim().min(1).max(40);

/** A slice level set by hand; band names as `GET /api/autonomy` lists them (`≥0.9`, `>=0.9` and `ge0.9` alike). */
const setBody = z.strictObject({
  workflow: z.string().trim().min(1).max(100),
  slice: z.strictObject({
    outcome: z.string().trim().min(1).max(60).optional(),
    confidence: band.optional(),
    amount: band.optional(),
  }),
  level: z.enum(AUTONOMY_LEVELS),
  actor,
  reason,
});
const applyBody = z.strictObject({ recommendation: z.string().trim().min(1).max(300), actor, reason });
const revokeBody = z.strictObject({ actor });
const reportQuery = z.strictObject({ workflow: z.string().trim().min(1).max(100).optional() });
const grantParams = z.object({ id: z.string().min(1).max(100) });

/** The service's refusals as the HTTP errors of src/http/errors.ts. */
function raise(f: Failure): never {
  if (f.status === 'not-found') throw new NotFound(f.message);
  if (f.status === 'conflict') throw new HttpProblem(409, 'conflict', f.message);
  throw new InvalidInput(
    f.message,
    f.problems.map((message) => ({ path: 'slice', message })),
  );
}

/**
 * `/api/autonomy` (Bearer COUNTERSIGN_API_TOKEN): the autonomy boundary and what the evidence recommends; grants a
 * person applies, recorded with who and why, and revocations. The CLI (`countersign autonomy`) calls the same service.
 */
export function autonomyRoutes(deps: Pick<HttpDeps, 'config' | 'store' | 'workflows' | 'now'>): Router {
  const router = Router();
  const service = (): AutonomyServiceDeps => ({
    store: deps.store,
    settings: deps.config.settings,
    ceiling: deps.config.autonomy,
    workflows: deps.workflows.listing().map((w) => w.name),
    now: deps.now ?? (() => new Date()),
  });
  router.use('/api/autonomy', requireBearer(deps.config.apiToken));

  router.get('/api/autonomy', async (req, res) => {
    const q = parseOrThrow(reportQuery, req.query, 'query');
    const result = await autonomyReport(service(), q.workflow === undefined ? {} : { workflow: q.workflow });
    if (!result.ok) raise(result);
    res.json(result.report);
  });

  router.post('/api/autonomy/grants', requireJson, jsonBody, async (req, res) => {
    const body: unknown = req.body;
    const fromRecommendation = typeof body === 'object' && body !== null && 'recommendation' in body;
    const result = fromRecommendation
      ? await applyRecommendation(service(), parseOrThrow(applyBody, body, 'body'))
      : await setSliceLevel(service(), parseOrThrow(setBody, body, 'body'));
    if (!result.ok) raise(result);
    res.status(201).json({ grant: result.grant, note: result.note });
  });

  router.post('/api/autonomy/grants/:id/revoke', requireJson, jsonBody, async (req, res) => {
    const { id } = parseOrThrow(grantParams, req.params, 'path');
    const body = parseOrThrow(revokeBody, req.body ?? {}, 'body');
    const result = await revokeSliceGrant(service(), { grant: id, actor: body.actor });
    if (!result.ok) raise(result);
    res.json({ grant: result.grant });
  });
  return router;
}
