import { Router } from 'express';
import { z } from 'zod';
import { findMessage, listMessages } from '../../src/channels/email/intake-records.js';
import { emailModels, type MessageDoc } from '../../src/channels/email/store.js';
import { NotFound } from '../../src/errors.js';
import { requireBearer } from '../../src/http/auth.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { parseOrThrow } from '../../src/http/validate.js';

/**
 * Mail that started nothing, for the staff who must look at it: every quarantined or ignored message with the
 * reason the reader gave (which rule, which header), so nothing the reader refused is a silent drop. The message
 * itself also sits in the `Countersign-Quarantine` folder of the mailbox, where any mail client opens it.
 */

const listQuery = z.object({
  status: z.enum(['quarantined', 'ignored', 'done', 'processing']).default('quarantined'),
  /** Cursor paging, newest first: pass the last `receivedAt` of a page to get the next one. */
  before: z.coerce.date().optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const keyParams = z.object({ key: z.string().min(1).max(300) });

function summary(m: MessageDoc) {
  return {
    key: m._id,
    status: m.status,
    reason: m.reason ?? null,
    messageId: m.messageId,
    from: m.from,
    subject: m.subject,
    mailbox: m.mailbox,
    runId: m.runId ?? null,
    receivedAt: m.receivedAt,
    updatedAt: m.updatedAt,
  };
}

export function emailReviewRoutes(deps: Pick<HttpDeps, 'config' | 'store'>): Router {
  const router = Router();
  const email = emailModels(deps.store.connection);
  router.use('/api/email', requireBearer(deps.config.apiToken));

  router.get('/api/email/messages', async (req, res) => {
    const q = parseOrThrow(listQuery, req.query, 'query');
    const docs = await listMessages(email, q);
    const last = docs.at(-1);
    res.json({
      messages: docs.map(summary),
      next: docs.length === q.limit && last ? new Date(last.receivedAt).toISOString() : null,
    });
  });

  router.get('/api/email/messages/:key', async (req, res) => {
    const { key } = parseOrThrow(keyParams, req.params, 'path');
    const m = await findMessage(email, key);
    if (!m) throw new NotFound('message not found');
    res.json({
      ...summary(m),
      fromName: m.fromName ?? null,
      text: m.text ?? null,
      attachments: m.attachments.map(({ text: _text, ...a }) => a),
      authentication: m.authentication ?? null,
      threadKey: m.threadKey ?? null,
    });
  });

  return router;
}
