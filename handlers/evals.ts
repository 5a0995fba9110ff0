import { Router } from 'express';
import { z } from 'zod';
import { evalRunById, recentEvalRuns } from '../src/evals/store.js';
import { requireBearer } from '../src/http/auth.js';
import type { HttpDeps } from '../src/http/deps.js';
import { HttpProblem } from '../src/http/errors.js';
import { parseOrThrow } from '../src/http/validate.js';

const listQuery = z.strictObject({
  workflow: z.string({ error: 'name the workflow: ?workflow=card-dispute' }).trim().min(1).max(100),
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
const idParams = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/, { error: 'not an eval run id' }) });

/**
 * Stored eval runs (Bearer COUNTERSIGN_API_TOKEN): `GET /api/evals?workflow=` lists a workflow's newest runs with
 * their agreement and gate; `GET /api/evals/:id` is one run's results; `GET /api/evals/:id/report` its HTML report,
 * as it was rendered when the run was made.
 */
export function evalRoutes(deps: Pick<HttpDeps, 'config' | 'store'>): Router {
  const router = Router();
  router.use('/api/evals', requireBearer(deps.config.apiToken));
  router.get('/api/evals', async (req, res) => {
    const q = parseOrThrow(listQuery, req.query, 'query');
    const runs = await recentEvalRuns(deps.store, q.workflow, q.limit);
    res.json({
      workflow: q.workflow,
      runs: runs.map((r) => ({
        id: r._id,
        model: r.model,
        promptVersion: r.promptVersion,
        datasetHash: r.datasetHash,
        agreement: r.agreement,
        passed: r.passed,
        startedAt: r.startedAt,
      })),
    });
  });
  const find = async (raw: unknown) => {
    const { id } = parseOrThrow(idParams, raw, 'path');
    const doc = await evalRunById(deps.store, id);
    if (!doc) throw new HttpProblem(404, 'not_found', `no eval run ${id}`);
    return doc;
  };
  router.get('/api/evals/:id', async (req, res) => {
    res.json((await find(req.params)).run);
  });
  router.get('/api/evals/:id/report', async (req, res) => {
    const doc = await find(req.params);
    if (!doc.reportHtml) throw new HttpProblem(404, 'not_found', `eval run ${doc._id} was stored without a report`);
    // The report is static: no script may run in it, whatever a case's text held.
    res
      .set('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
      .type('html')
      .send(doc.reportHtml);
  });
  return router;
}
