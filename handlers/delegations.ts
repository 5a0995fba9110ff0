import { Router } from 'express';
import { z } from 'zod';
import { requireBearer } from '../src/http/auth.js';
import { jsonBody, requireJson } from '../src/http/body.js';
import type { HttpDeps } from '../src/http/deps.js';
import { parseOrThrow } from '../src/http/validate.js';

/** Strict, like decisions: a misspelt `until` must fail loudly, not create a delegation without an end. */
const delegationBody = z.strictObject({
  approver: z.string().trim().min(1).max(200),
  delegate: z.string().trim().min(1).max(200),
  /** `YYYY-MM-DD` (through the end of that day, UTC) or an ISO date-time with offset. */
  until: z.string().trim().min(1).max(40),
  reason: z.string().trim().max(500).optional(),
  /** Who set it, for the record (like `actor` on decisions): the API caller's name. */
  createdBy: z.string().trim().min(1).max(200).default('api'),
});
const approverParams = z.object({ approver: z.string().trim().min(1).max(200) });
const listQuery = z.object({ active: z.enum(['true', 'false']).optional() });

/**
 * `/api/delegations`: an approver who is away names a delegate until a date. The engine validates identifiers and
 * dates (InvalidInput → 400 with issues) and applies the delegation to decisions from then on.
 */
export function delegationRoutes(deps: HttpDeps): Router {
  const router = Router();
  const { engine } = deps;
  router.use('/api/delegations', requireBearer(deps.config.apiToken));

  router.get('/api/delegations', async (req, res) => {
    const { active } = parseOrThrow(listQuery, req.query, 'query');
    const filter = active === undefined ? {} : { active: active === 'true' };
    res.json({ delegations: await engine.listDelegations(filter) });
  });

  router.post('/api/delegations', requireJson, jsonBody, async (req, res) => {
    const body = parseOrThrow(delegationBody, req.body ?? {}, 'body');
    const delegation = await engine.setDelegation(body);
    res.status(201).json({ delegation });
  });

  router.delete('/api/delegations/:approver', async (req, res) => {
    const { approver } = parseOrThrow(approverParams, req.params, 'path');
    res.json(await engine.clearDelegation(approver));
  });

  return router;
}
