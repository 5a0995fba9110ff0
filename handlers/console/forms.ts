import { createHash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import type { FormLinkDoc } from '../../src/console/form-link-registry.js';
import {
  FORM_LINK_DAYS,
  type FormLinkDays,
  formLinkExpiry,
  formLinkToken,
  runStatusToken,
  verifyFormLink,
} from '../../src/console/form-links.js';
import { atLeast } from '../../src/console/roles.js';
import type { TypedValues } from '../../src/console/schema-form.js';
import { attachmentSlot, intakeFields, placeIssues, readIntakeForm } from '../../src/console/schema-form.js';
import { randomId } from '../../src/console/signed.js';
import { attachmentsOf, discardRest, readMultipart, storeUploads, UPLOAD_LIMITS } from '../../src/console/uploads.js';
import { InvalidInput } from '../../src/errors.js';
import { formBody } from '../../src/http/body.js';
import type { HttpDeps } from '../../src/http/deps.js';
import type { WorkflowListing } from '../../src/modules/catalogue.js';
import {
  type FileSlot,
  formProblemPage,
  formsListPage,
  intakeFormPage,
  uploadRefusal,
} from '../../templates/console/forms.js';
import {
  browserCsrf,
  browserCsrfValid,
  browserIdOf,
  type ConsolePerson,
  foreignOrigin,
  personOf,
  requireCsrf,
  requireRole,
  signedIn,
} from './auth.js';
import { formProgressRoutes } from './form-progress.js';
import { sendConsolePage } from './pages.js';

const workflowParam = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/i);
const nonceShape = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
const linkIdParam = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/);
const mintForm = z.object({
  days: z.coerce
    .number()
    .int()
    .refine((d): d is FormLinkDays => (FORM_LINK_DAYS as readonly number[]).includes(d)),
});

/** Who is filling the form: a signed-in person, or a visitor holding a public link for this workflow. */
type Access = { kind: 'staff'; person: ConsolePerson } | { kind: 'public'; token: string };

function wantsPage(req: Request): boolean {
  return req.method === 'GET' || req.method === 'HEAD';
}

/** `/forms`, `/forms/:workflow` and the progress page a submit leads to (CONTRACT.md, issue 12 part 5). */
export function formRoutes(deps: HttpDeps): Router {
  const router = Router();
  const now = () => (deps.now ?? (() => new Date()))();
  const base = deps.config.publicUrl.replace(/\/+$/, '');
  const find = (name: string): WorkflowListing | undefined => deps.workflows.listing().find((w) => w.name === name);
  const problem = (res: Response, status: number, title: string, lines: string[], person?: ConsolePerson) =>
    sendConsolePage(res, status, formProblemPage({ title, lines, ...(person ? { person } : {}) }));

  const listPage = async (
    res: Response,
    status: number,
    notice?: { minted: { workflow: string; url: string; expiresAt: Date } } | { revoked: FormLinkDoc },
  ) => {
    const person = signedIn(res);
    const forms = deps.workflows.listing().map((w) => ({
      name: w.name,
      description: w.description,
      files: attachmentSlot(w.inputSchema) !== undefined,
    }));
    const admin = atLeast(person.role, 'admin');
    sendConsolePage(
      res,
      status,
      formsListPage({
        person,
        forms,
        canMint: admin,
        days: FORM_LINK_DAYS,
        links: admin ? await deps.console.formLinks.active(now()) : [],
        ...notice,
      }),
    );
  };

  router.get('/forms', requireRole('viewer'), (_req, res) => listPage(res, 200));

  router.post('/forms/:workflow/links', requireRole('admin'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const name = workflowParam.safeParse(req.params.workflow);
    const workflow = name.success ? find(name.data) : undefined;
    if (!workflow) return problem(res, 404, 'No such form', ['There is no workflow by that name.'], person);
    const form = mintForm.safeParse(req.body);
    if (!form.success)
      return problem(res, 400, 'Choose how long the link works', ['Pick 1, 7 or 30 days. No link was made.'], person);
    const at = now();
    const link = { _id: randomId(), workflow: workflow.name, mintedBy: person.email, createdAt: at };
    const expiresAt = formLinkExpiry(at, form.data.days);
    // Recorded before the token exists: every link anyone holds can be withdrawn.
    await deps.console.formLinks.record({ ...link, expiresAt });
    const token = formLinkToken(deps.config.appSecret, { id: link._id, workflow: workflow.name, expiresAt });
    res.locals.log?.info(
      { workflow: workflow.name, days: form.data.days, by: person.email, link: link._id },
      'public form link made',
    );
    const url = `${base}/forms/${workflow.name}?t=${token}`;
    await listPage(res, 201, { minted: { workflow: workflow.name, url, expiresAt } });
  });

  router.post('/forms/links/:id/revoke', requireRole('admin'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const id = linkIdParam.safeParse(req.params.id);
    const revoked = id.success ? await deps.console.formLinks.revoke(id.data, person.email, now()) : null;
    if (!revoked)
      return problem(
        res,
        404,
        'No such link in use',
        ['That public link does not exist or was withdrawn already. Nothing was changed.'],
        person,
      );
    res.locals.log?.info(
      { workflow: revoked.workflow, by: person.email, link: revoked._id },
      'public form link withdrawn',
    );
    await listPage(res, 200, { revoked });
  });

  /** Decides who may use the form, or answers the refusal itself and returns undefined. */
  const accessOf = async (req: Request, res: Response, workflow: string): Promise<Access | undefined> => {
    const person = personOf(res);
    if (person) return { kind: 'staff', person };
    const token = typeof req.query.t === 'string' ? req.query.t : undefined;
    if (!token) {
      if (wantsPage(req)) res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
      else
        problem(res, 401, 'Sign in first', ['This form needs a signed-in person or a public link. Nothing was sent.']);
      return undefined;
    }
    const check = verifyFormLink(deps.config.appSecret, token, workflow, now());
    if (check.ok && (await deps.console.formLinks.usable(check.payload.lid))) return { kind: 'public', token };
    if (check.ok)
      problem(res, 410, 'This form link was withdrawn', [
        'Whoever sent you the link has withdrawn it. Ask them for a new one. Nothing was sent.',
      ]);
    else if (check.error === 'expired')
      problem(res, 410, 'This form link has expired', [
        'The link you used is no longer valid. Ask whoever sent it for a new one. Nothing was sent.',
      ]);
    else
      problem(res, 403, 'This form link is not valid', [
        'The link is incomplete or was not made by this service. Check that you copied all of it. Nothing was sent.',
      ]);
    return undefined;
  };

  const fileSlot = (w: WorkflowListing): FileSlot | undefined => {
    const slot = attachmentSlot(w.inputSchema);
    return slot
      ? {
          max: Math.min(slot.maxItems, UPLOAD_LIMITS.files),
          maxBytes: UPLOAD_LIMITS.fileBytes,
        }
      : undefined;
  };

  const showForm = (
    req: Request,
    res: Response,
    o: {
      status: number;
      access: Access;
      workflow: WorkflowListing;
      values?: TypedValues;
      issues?: { path: string; message: string }[];
      nonce?: string;
      filesDropped?: boolean;
    },
  ) => {
    const fields = intakeFields(o.workflow.inputSchema);
    const { byField, other } = placeIssues(fields, o.issues ?? []);
    const files = fileSlot(o.workflow);
    const staff = o.access.kind === 'staff' ? o.access.person : undefined;
    sendConsolePage(
      res,
      o.status,
      intakeFormPage({
        ...(staff ? { person: staff } : {}),
        workflow: { name: o.workflow.name, description: o.workflow.description },
        fields,
        ...(files ? { files } : {}),
        values: o.values ?? {},
        byField,
        other,
        action: `/forms/${o.workflow.name}${o.access.kind === 'public' ? `?t=${encodeURIComponent(o.access.token)}` : ''}`,
        csrf: staff ? staff.csrf : browserCsrf(deps, req, res),
        nonce: o.nonce ?? randomId(),
        ...(o.filesDropped ? { filesDropped: true } : {}),
      }),
    );
  };

  const resolve = async (
    req: Request,
    res: Response,
  ): Promise<{ access: Access; workflow: WorkflowListing } | undefined> => {
    const name = workflowParam.safeParse(req.params.workflow);
    if (!name.success) {
      problem(res, 404, 'No such form', ['There is no form at this address.'], personOf(res));
      return undefined;
    }
    const access = await accessOf(req, res, name.data);
    if (!access) return undefined;
    const workflow = find(name.data);
    if (!workflow) {
      problem(res, 404, 'No such form', [`There is no workflow named ${name.data}.`], personOf(res));
      return undefined;
    }
    return { access, workflow };
  };

  router.get('/forms/:workflow', async (req, res) => {
    const found = await resolve(req, res);
    if (found) showForm(req, res, { status: 200, ...found });
  });

  router.post('/forms/:workflow', async (req, res) => {
    const found = await resolve(req, res);
    if (!found) return discardRest(req);
    const { access, workflow } = found;
    const staff = access.kind === 'staff' ? access.person : undefined;
    // A public link is a capability anyone holding it may use: each client may start only so many runs with it.
    if (access.kind === 'public') {
      const limit = await deps.console.publicSubmits.hit(`${workflow.name}:${req.ip ?? 'unknown'}`);
      if (!limit.allowed) {
        discardRest(req);
        res.set('Retry-After', String(limit.retryAfterSeconds));
        return problem(res, 429, 'Too many submissions', [
          `This form was sent too often from here. Try again in ${Math.ceil(limit.retryAfterSeconds / 60)} minutes.`,
        ]);
      }
    }
    const body = await readMultipart(req, UPLOAD_LIMITS);
    const csrfOk =
      access.kind === 'staff'
        ? !foreignOrigin(deps, req) &&
          deps.console.sessions.csrfValid(access.person.sessionId, body.fields.get('_csrf'))
        : browserCsrfValid(deps, req, body.fields.get('_csrf'));
    // An upload refused for its size or type changes nothing, so it is said as such even before the token is known
    // (a body refused by its declared length was never read, token included).
    if (!body.ok) {
      discardRest(req);
      const refusal = uploadRefusal(body.problem, UPLOAD_LIMITS);
      return problem(
        res,
        refusal.status,
        refusal.title,
        [...refusal.lines, 'Nothing was stored and nothing was started.'],
        staff,
      );
    }
    if (!csrfOk)
      return problem(
        res,
        403,
        'This form could not be verified',
        [
          'The form was not sent from a page of this service, or it is too old. Nothing was sent: reload the form and try again.',
        ],
        staff,
      );
    const fields = intakeFields(workflow.inputSchema);
    const submitted = new Map<string, string>();
    for (const [k, v] of body.fields) if (k.startsWith('in.')) submitted.set(k.slice(3), v);
    const { input, values } = readIntakeForm(fields, submitted);
    const slot = fileSlot(workflow);
    if (body.files.length > 0 && (!slot || body.files.length > slot.max)) {
      return problem(
        res,
        413,
        slot ? 'Too many files' : 'This form takes no files',
        [
          slot ? `Send at most ${slot.max} files.` : 'Send the form without files.',
          'Nothing was stored and nothing was started.',
        ],
        staff,
      );
    }
    const nonceField = nonceShape.safeParse(body.fields.get('_nonce'));
    const nonce = nonceField.success ? nonceField.data : randomId();
    // Bound to who sent it, so a nonce copied from someone else's page cannot reach their run.
    const binding = access.kind === 'staff' ? `staff:${access.person.email}` : `public:${browserIdOf(req) ?? ''}`;
    const key = `form:${createHash('sha256').update(`${binding}\n${nonce}`).digest('base64url')}`;
    const refuseInput = (issues: { path: string; message: string }[]) =>
      showForm(req, res, {
        status: 400,
        access,
        workflow,
        values,
        issues,
        nonce,
        filesDropped: body.files.length > 0,
      });
    const at = now();
    if (body.files.length > 0) input.attachments = attachmentsOf(body.files);
    // Checked before the files are stored, so a refused form leaves nothing behind.
    const inputIssues = deps.workflows.inputProblems(workflow.name, input);
    if (inputIssues.length > 0) return refuseInput(inputIssues);
    if (body.files.length > 0) await storeUploads(deps.store, body.files, at);
    let runId: string;
    try {
      const started = await deps.engine.startRun({
        workflow: workflow.name,
        input,
        idempotencyKey: key,
        source: { channel: 'form', key },
      });
      runId = started.runId;
      res.locals.log?.info(
        { runId, workflow: workflow.name, created: started.created, via: access.kind, files: body.files.length },
        started.created ? 'run started by form' : 'form sent again',
      );
    } catch (err) {
      if (!(err instanceof InvalidInput)) throw err;
      return refuseInput(err.issues);
    }
    const token = runStatusToken(deps.config.appSecret, { workflow: workflow.name, runId, now: at });
    res.redirect(303, `/forms/${workflow.name}/submitted/${token}`);
  });

  router.use(formProgressRoutes(deps));
  return router;
}
