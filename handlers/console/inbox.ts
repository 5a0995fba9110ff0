import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { bulkApprove, bulkGroups } from '../../src/console/bulk.js';
import { inboxFor, viaFor } from '../../src/console/inbox.js';
import { AlreadyDecided, InvalidInput, issuesOf, NotAuthorized, NotFound, StaleCheckpoint } from '../../src/errors.js';
import { formBody } from '../../src/http/body.js';
import type { HttpDeps } from '../../src/http/deps.js';
import {
  bulkResultPage,
  inboxDecidedPage,
  inboxDecidePage,
  inboxList,
  inboxPage,
  inboxRefusalPage,
} from '../../templates/console/inbox.js';
import { editableFields, readEditForm } from '../../templates/edit-form.js';
import { requireCsrf, requireRole, signedIn } from './auth.js';
import { etagOf, sendConsolePage, sendFragment } from './pages.js';

const idParams = z.object({ id: z.string().regex(/^cp_[0-9a-f]{24}$/) });
const inboxQuery = z.object({
  decided: z
    .string()
    .regex(/^cp_[0-9a-f]{24}$/)
    .optional(),
});
const comment = z
  .string()
  .max(2000, { message: 'Keep the comment under 2000 characters.' })
  .transform((c) => c.replace(/\r\n?/g, '\n').trim())
  .optional();
const decideForm = z.object({
  decision: z.enum(['approve', 'reject'], { message: 'Choose Approve or Reject.' }),
  version: z.coerce.number().int().nonnegative({ message: 'The form is incomplete; reload the page.' }),
  comment,
});
const selection = z
  .string()
  .regex(/^cp_[0-9a-f]{24}:\d{1,9}$/)
  .transform((s) => {
    const [checkpointId = '', version = '0'] = s.split(':');
    return { checkpointId, version: Number(version) };
  });
const bulkForm = z.object({
  kind: z.string().min(1).max(300),
  item: z.union([selection.transform((s) => [s]), z.array(selection).max(100)]),
  comment,
});

const bodyOf = (req: Request): Record<string, unknown> =>
  typeof req.body === 'object' && req.body !== null ? (req.body as Record<string, unknown>) : {};

/** `/inbox`: what waits for the signed-in person, one item's page to decide it, and bulk approval of alike ones. */
export function inboxRoutes(deps: HttpDeps): Router {
  const router = Router();
  const now = () => (deps.now ?? (() => new Date()))();
  const inboxDeps = { engine: deps.engine, settings: deps.config.settings };

  const rowsFor = (email: string) => inboxFor(inboxDeps, email);

  router.get('/inbox', requireRole('approver'), async (req, res) => {
    const person = signedIn(res);
    const query = inboxQuery.safeParse(req.query);
    const rows = await rowsFor(person.email);
    const at = now();
    let notice: string | undefined;
    if (query.success && query.data.decided) {
      const cp = await deps.engine.getCheckpoint(query.data.decided);
      if (cp?.decision)
        notice = `${cp.decision.decision === 'approve' ? 'Approved' : 'Rejected'}: ${cp.title}. The run goes on from here.`;
      else if (cp) notice = `Your approval of ${cp.title} is recorded; it waits for more approvals.`;
    }
    sendConsolePage(
      res,
      200,
      inboxPage({
        person,
        rows,
        groups: bulkGroups(rows),
        now: at,
        etag: etagOf(String(inboxList(rows, at))),
        ...(notice ? { notice } : {}),
      }),
    );
  });

  router.get('/inbox/live', requireRole('approver'), async (req, res) => {
    const person = signedIn(res);
    sendFragment(req, res, inboxList(await rowsFor(person.email), now()));
  });

  router.post('/inbox/bulk', requireRole('approver'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const form = bulkForm.safeParse(bodyOf(req));
    if (!form.success) {
      return sendConsolePage(
        res,
        400,
        inboxRefusalPage({
          person,
          title: 'Nothing was approved',
          lines: ['Select at least one request to approve, then try again. Nothing was changed.'],
        }),
      );
    }
    const outcomes = await bulkApprove(
      { engine: deps.engine, settings: deps.config.settings },
      {
        actor: person.email,
        kind: form.data.kind,
        selections: form.data.item,
        ...(form.data.comment ? { comment: form.data.comment } : {}),
      },
    );
    res.locals.log?.info(
      { actor: person.email, approved: outcomes.filter((o) => o.status === 'approved').length, of: outcomes.length },
      'bulk approval',
    );
    sendConsolePage(res, 200, bulkResultPage({ person, outcomes }));
  });

  /** The checkpoint behind `:id`, or the page that says why there is none to decide. */
  async function open(req: Request, res: Response) {
    const person = signedIn(res);
    const params = idParams.safeParse(req.params);
    const checkpoint = params.success ? await deps.engine.getCheckpoint(params.data.id) : null;
    if (!checkpoint) {
      sendConsolePage(
        res,
        404,
        inboxRefusalPage({
          person,
          title: 'No such request',
          lines: ['It may have been removed, or the link is wrong.'],
        }),
      );
      return undefined;
    }
    return { person, checkpoint };
  }

  const notYours = (res: Response, person: ReturnType<typeof signedIn>) =>
    sendConsolePage(
      res,
      403,
      inboxRefusalPage({
        person,
        title: 'Not yours to decide',
        lines: [`${person.email} is not among the people who may decide this request. Nothing was changed.`],
      }),
    );

  router.get('/inbox/:id', requireRole('approver'), async (req, res) => {
    const opened = await open(req, res);
    if (!opened) return;
    const { person, checkpoint } = opened;
    if (checkpoint.status !== 'pending') return sendConsolePage(res, 200, inboxDecidedPage({ person, checkpoint }));
    if (!(await deps.engine.mayDecide(checkpoint, person.email))) return notYours(res, person);
    const via = await viaFor(inboxDeps, checkpoint, person.email);
    sendConsolePage(res, 200, inboxDecidePage({ person, checkpoint, ...(via ? { via } : {}) }));
  });

  router.post('/inbox/:id', requireRole('approver'), formBody, requireCsrf(deps), async (req, res) => {
    const opened = await open(req, res);
    if (!opened) return;
    const { person, checkpoint } = opened;
    if (checkpoint.status !== 'pending') return sendConsolePage(res, 409, inboxDecidedPage({ person, checkpoint }));
    const form = bodyOf(req);
    const fields = editableFields(checkpoint.editableSchema ?? {});
    const read = readEditForm(fields, form, checkpoint.values ?? {});
    const submitted = decideForm.safeParse({
      decision: form.decision,
      version: form.version,
      comment: form.comment || undefined,
    });
    const showForm = (issues: { path: string; message: string }[]) =>
      sendConsolePage(
        res,
        400,
        inboxDecidePage({
          person,
          checkpoint,
          state: { values: read.values, comment: typeof form.comment === 'string' ? form.comment : '', issues },
        }),
      );
    const formIssues = [...read.issues, ...(submitted.success ? [] : issuesOf(submitted.error))];
    if (!submitted.success || formIssues.length > 0) return showForm(formIssues);
    try {
      await deps.engine.decide({
        checkpointId: checkpoint._id,
        decision: submitted.data.decision,
        edits: read.edits,
        ...(submitted.data.comment ? { comment: submitted.data.comment } : {}),
        actor: person.email,
        channel: 'console',
        expectedVersion: submitted.data.version,
      });
    } catch (err) {
      if (err instanceof InvalidInput)
        return showForm(err.issues.length > 0 ? err.issues : [{ path: '(root)', message: err.message }]);
      if (err instanceof AlreadyDecided) {
        const latest = (await deps.engine.getCheckpoint(checkpoint._id)) ?? checkpoint;
        return sendConsolePage(res, 409, inboxDecidedPage({ person, checkpoint: latest }));
      }
      if (err instanceof StaleCheckpoint) {
        return sendConsolePage(
          res,
          409,
          inboxRefusalPage({
            person,
            title: 'This request changed since you opened it',
            lines: [
              'Someone acted on it after you loaded the page (for example another approval). Your decision was not recorded.',
              'Open it again to see it as it is now.',
            ],
          }),
        );
      }
      if (err instanceof NotAuthorized) return notYours(res, person);
      if (err instanceof NotFound)
        return sendConsolePage(res, 404, inboxRefusalPage({ person, title: 'No such request', lines: [] }));
      throw err;
    }
    res.locals.log?.info({ checkpointId: checkpoint._id, decision: submitted.data.decision }, 'decided in the console');
    res.redirect(303, `/inbox?decided=${encodeURIComponent(checkpoint._id)}`);
  });

  return router;
}
