import { type Response, Router } from 'express';
import { z } from 'zod';
import { type ApprovalTokenPayload, verifyApprovalToken } from '../src/approvals/tokens.js';
import { claimToken, releaseToken, tokenAlreadyUsed } from '../src/approvals/used-tokens.js';
import { AlreadyDecided, InvalidInput, issuesOf } from '../src/errors.js';
import { formBody } from '../src/http/body.js';
import type { HttpDeps } from '../src/http/deps.js';
import { sendPage } from '../src/http/pages.js';
import type { CheckpointView } from '../src/views/checkpoint.js';
import {
  alreadyDecidedPage,
  approvalFormPage,
  decisionRecordedPage,
  expiredLinkPage,
  invalidLinkPage,
  notAllowedPage,
  usedLinkPage,
} from '../templates/approval-page.js';
import { editableFields, readEditForm } from '../templates/edit-form.js';

const tokenParams = z.object({ token: z.string().min(1).max(4096) });
const decisionForm = z.object({
  decision: z.enum(['approve', 'reject'], { message: 'Choose Approve or Reject.' }),
  comment: z
    .string()
    .max(2000, { message: 'Keep the comment under 2000 characters.' })
    .transform((c) => c.replace(/\r\n?/g, '\n').trim())
    .optional(),
});

type Page = { status: number; html: string };
type Opened = { ok: true; payload: ApprovalTokenPayload; checkpoint: CheckpointView } | { ok: false; page: Page };

/**
 * Everything both methods check before showing or accepting the form. Reads only: GET must never change
 * anything, because mail scanners and link previews open every link they see.
 */
async function openLink(deps: HttpDeps, rawParams: unknown, method: 'GET' | 'POST'): Promise<Opened> {
  const now = (deps.now ?? (() => new Date()))();
  const params = tokenParams.safeParse(rawParams);
  const check = params.success ? verifyApprovalToken(deps.config.appSecret, params.data.token, now) : undefined;
  if (!check) return { ok: false, page: { status: 400, html: invalidLinkPage() } };
  if (!check.ok && check.error !== 'expired') {
    // A link we never signed (tampered, or from another installation) names no resource of ours: 404.
    return { ok: false, page: { status: check.error === 'malformed' ? 400 : 404, html: invalidLinkPage() } };
  }
  const payload = check.payload;
  // Used before expired: "already used, and here is what was decided" tells more than "expired".
  if (await tokenAlreadyUsed(deps.store, payload.tokenId)) {
    const checkpoint = await deps.engine.getCheckpoint(payload.checkpointId);
    return { ok: false, page: { status: 410, html: usedLinkPage(checkpoint) } };
  }
  const checkpoint = await deps.engine.getCheckpoint(payload.checkpointId);
  if (!check.ok) return { ok: false, page: { status: 410, html: expiredLinkPage(checkpoint) } };
  if (!checkpoint) return { ok: false, page: { status: 404, html: invalidLinkPage() } };
  if (checkpoint.status !== 'pending') {
    return { ok: false, page: { status: method === 'GET' ? 200 : 409, html: alreadyDecidedPage(checkpoint) } };
  }
  if (!(await deps.engine.mayDecide(checkpoint, payload.recipient))) {
    return { ok: false, page: { status: 403, html: notAllowedPage(payload.recipient) } };
  }
  return { ok: true, payload, checkpoint };
}

/** `/approvals/:token`: the page behind an emailed link (GET) and the one decision it may make (POST). */
export function approvalRoutes(deps: HttpDeps): Router {
  const router = Router();
  const { engine, store, metrics } = deps;
  const clock = deps.now ?? (() => new Date());

  const refuse = (res: Response, page: Page, reason: string) => {
    metrics.decisionsRefused.inc({ channel: 'link', reason });
    sendPage(res, page.status, page.html);
  };

  router.get('/approvals/:token', async (req, res) => {
    const link = await openLink(deps, req.params, 'GET');
    if (!link.ok) return sendPage(res, link.page.status, link.page.html);
    const { checkpoint, payload } = link;
    sendPage(res, 200, approvalFormPage({ checkpoint, recipient: payload.recipient, expiresAt: payload.expiresAt }));
  });

  router.post('/approvals/:token', formBody, async (req, res) => {
    const link = await openLink(deps, req.params, 'POST');
    if (!link.ok) return refuse(res, link.page, `link_${link.page.status}`);
    const { checkpoint, payload } = link;
    const form: Record<string, unknown> = typeof req.body === 'object' && req.body !== null ? req.body : {};
    const fields = editableFields(checkpoint.editableSchema ?? {});
    const read = readEditForm(fields, form, checkpoint.values ?? {});
    const submitted = decisionForm.safeParse({ decision: form.decision, comment: form.comment || undefined });
    const showForm = (issues: { path: string; message: string }[]) =>
      sendPage(
        res,
        400,
        approvalFormPage({
          checkpoint,
          recipient: payload.recipient,
          expiresAt: payload.expiresAt,
          state: { values: read.values, comment: typeof form.comment === 'string' ? form.comment : '', issues },
        }),
      );
    const formIssues = [...read.issues, ...(submitted.success ? [] : issuesOf(submitted.error))];
    if (!submitted.success || formIssues.length > 0) return showForm(formIssues);

    // Claim the link first so two clicks cannot both decide; give it back when the decision did not take
    // effect, so a typo in an edit or a lost race does not burn it.
    const claimed = await claimToken(store, {
      tokenId: payload.tokenId,
      checkpointId: payload.checkpointId,
      recipient: payload.recipient,
      usedAt: clock(),
    });
    if (!claimed) {
      return refuse(res, { status: 410, html: usedLinkPage(await engine.getCheckpoint(checkpoint._id)) }, 'link_used');
    }
    let decided: CheckpointView;
    try {
      decided = await engine.decide({
        checkpointId: checkpoint._id,
        decision: submitted.data.decision,
        edits: read.edits,
        comment: submitted.data.comment || undefined,
        actor: payload.recipient,
        channel: 'link',
      });
    } catch (err) {
      await releaseToken(store, payload.tokenId);
      if (err instanceof InvalidInput)
        return showForm(err.issues.length > 0 ? err.issues : [{ path: '(root)', message: err.message }]);
      if (err instanceof AlreadyDecided) {
        const latest = (await engine.getCheckpoint(checkpoint._id)) ?? checkpoint;
        return sendPage(res, 409, alreadyDecidedPage(latest));
      }
      throw err;
    }
    res.locals.log?.info({ checkpointId: decided._id, decision: submitted.data.decision }, 'decided by approval link');
    sendPage(res, 200, decisionRecordedPage(decided));
  });

  return router;
}
