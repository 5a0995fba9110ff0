import { Router } from 'express';
import { z } from 'zod';
import { approvalLink, normalizeRecipient } from '../src/approvals/tokens.js';
import { AlreadyDecided, NotAuthorized, NotFound } from '../src/errors.js';
import { requireBearer } from '../src/http/auth.js';
import { jsonBody, requireJson } from '../src/http/body.js';
import type { HttpDeps } from '../src/http/deps.js';
import { parseOrThrow } from '../src/http/validate.js';
import type { CheckpointView, RunStatusView } from '../src/views/checkpoint.js';

const RUN_STATUSES = [
  'queued',
  'running',
  'waiting',
  'completed',
  'failed',
  'cancelled',
] as const satisfies readonly RunStatusView[];
const HOUR_MS = 60 * 60 * 1000;

const idParams = z.object({ id: z.string().min(1).max(200) });
const listQuery = z.object({
  status: z.enum(RUN_STATUSES).optional(),
  workflow: z.string().min(1).max(100).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
/** Strict: a misspelt `edits` must fail loudly, not approve the unedited proposal. */
const decisionBody = z.strictObject({
  decision: z.enum(['approve', 'reject']),
  edits: z.record(z.string(), z.unknown()).optional(),
  comment: z.string().max(2000).optional(),
  actor: z.string().trim().min(1).max(200).default('api'),
});
const linkBody = z.strictObject({
  recipient: z.email(),
  ttlHours: z.number().int().min(1).max(720).optional(),
});

/** The public shape of a checkpoint: the document without storage fields. */
function checkpointView(c: CheckpointView) {
  return {
    id: c._id,
    runId: c.runId,
    workflow: c.workflow,
    name: c.name,
    status: c.status,
    version: c.version,
    title: c.title,
    summary: c.summary,
    evidence: c.evidence,
    proposal: c.proposal,
    editableSchema: c.editableSchema,
    values: c.values,
    approvers: c.approvers,
    decision: c.decision ?? null,
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** `/api/*`: Bearer COUNTERSIGN_API_TOKEN, JSON in and out. */
export function apiRoutes(deps: HttpDeps): Router {
  const router = Router();
  const { engine } = deps;
  const clock = deps.now ?? (() => new Date());
  router.use('/api', requireBearer(deps.config.apiToken));

  router.get('/api/runs', async (req, res) => {
    const filter = parseOrThrow(listQuery, req.query, 'query');
    res.json({ runs: await engine.listRuns(filter) });
  });

  router.get('/api/runs/:id', async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, 'path');
    const run = await engine.getRun(id);
    if (!run) throw new NotFound('run not found');
    res.json(run);
  });

  router.get('/api/checkpoints/:id', async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, 'path');
    const checkpoint = await engine.getCheckpoint(id);
    if (!checkpoint) throw new NotFound('checkpoint not found');
    res.json(checkpointView(checkpoint));
  });

  router.post('/api/checkpoints/:id/decision', requireJson, jsonBody, async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, 'path');
    const body = parseOrThrow(decisionBody, req.body ?? {}, 'body');
    const checkpoint = await engine.decide({
      checkpointId: id,
      decision: body.decision,
      edits: body.edits,
      comment: body.comment,
      actor: body.actor,
      channel: 'api',
    });
    res.json({
      checkpoint: { id: checkpoint._id, status: checkpoint.status, decision: checkpoint.decision ?? null },
    });
  });

  // Mints a fresh link, e.g. when the emailed one expired. Nothing is stored: the link is the capability.
  router.post('/api/checkpoints/:id/links', requireJson, jsonBody, async (req, res) => {
    const { id } = parseOrThrow(idParams, req.params, 'path');
    const body = parseOrThrow(linkBody, req.body ?? {}, 'body');
    const checkpoint = await engine.getCheckpoint(id);
    if (!checkpoint) throw new NotFound('checkpoint not found');
    if (checkpoint.status !== 'pending') throw new AlreadyDecided(checkpoint.status, checkpoint.decision);
    const recipient = normalizeRecipient(body.recipient);
    if (!(await engine.mayDecide(checkpoint, recipient)))
      throw new NotAuthorized(`${recipient} may not decide this checkpoint`);
    const now = clock();
    const ttlMs = (body.ttlHours ?? 24 * 7) * HOUR_MS;
    const url = approvalLink(deps.config.publicUrl, deps.config.appSecret, { checkpointId: id, recipient, ttlMs, now });
    res.json({ url, expiresAt: new Date(now.getTime() + ttlMs).toISOString() });
  });

  return router;
}
