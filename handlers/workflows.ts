import { Router } from 'express';
import { requireBearer } from '../src/http/auth.js';
import type { HttpDeps } from '../src/http/deps.js';

/**
 * `GET /api/workflows`: every registered workflow with its module, input JSON Schema and what starts it (the
 * same rows as `countersign workflows`), so a client can build a form or a webhook call without reading code.
 */
export function workflowRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.get('/api/workflows', requireBearer(deps.config.apiToken), (_req, res) => {
    res.json(deps.workflows.listing());
  });
  return router;
}
