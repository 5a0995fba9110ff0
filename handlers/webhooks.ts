import { Router } from 'express';
import { z } from 'zod';
import { bytesOf, rawBody, requireJson } from '../src/http/body.js';
import type { HttpDeps } from '../src/http/deps.js';
import { HttpProblem } from '../src/http/errors.js';
import { SIGNATURE_HEADER, webhookSecretOf, webhookSignatureMatches } from '../src/http/signature.js';
import { parseOrThrow } from '../src/http/validate.js';

const params = z.object({ workflow: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/i) });
/** Printable ASCII, as the IETF Idempotency-Key draft suggests; it ends up in a document id. */
const idempotencyKey = z
  .string()
  .regex(/^[\x20-\x7e]{1,200}$/, { message: 'expected 1 to 200 printable ASCII characters' })
  .optional();

/**
 * Signed webhooks start runs. Order matters: content type and size are refused before reading, the signature
 * before anything about the request is revealed (so unknown workflow names cannot be probed unsigned), and the
 * JSON is parsed only once the sender is known.
 */
export function webhookRoutes(deps: HttpDeps): Router {
  const router = Router();
  const secret = webhookSecretOf(deps.config);

  router.post('/webhooks/:workflow', requireJson, rawBody, async (req, res) => {
    if (secret === undefined) {
      throw new HttpProblem(503, 'webhooks_not_configured', 'webhooks are not configured (set WEBHOOK_SECRET)');
    }
    const body = bytesOf(req.body);
    if (!webhookSignatureMatches(secret, body, req.get(SIGNATURE_HEADER))) {
      throw new HttpProblem(401, 'invalid_signature', `missing or invalid ${SIGNATURE_HEADER} header`);
    }
    const named = params.safeParse(req.params);
    // Only workflows a module lists in `intake.webhooks`; the others (email or Slack intake) are not for callers.
    if (!named.success || !deps.workflows.startsByWebhook(named.data.workflow)) {
      throw new HttpProblem(404, 'unknown_workflow', 'no workflow by that name');
    }
    const { workflow } = named.data;
    const key = parseOrThrow(idempotencyKey, req.get('idempotency-key'), 'Idempotency-Key header');
    let input: unknown;
    try {
      input = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HttpProblem(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
    }
    const { runId, created } = await deps.engine.startRun({
      workflow,
      input,
      idempotencyKey: key,
      source: { channel: 'webhook', key },
    });
    res.locals.log?.info({ runId, workflow, created }, created ? 'run started by webhook' : 'webhook replayed');
    res.status(created ? 202 : 200).json({ runId });
  });

  return router;
}
