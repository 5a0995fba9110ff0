import { type Response, Router } from 'express';
import { z } from 'zod';
import {
  type AutonomyServiceDeps,
  applyRecommendation,
  autonomyReport,
  type Failure,
  revokeSliceGrant,
} from '../../src/autonomy/service.js';
import { listEvalRuns } from '../../src/console/eval-runs.js';
import { atLeast } from '../../src/console/roles.js';
import { renderEvalReport } from '../../src/evals/report-html.js';
import { evalRunById } from '../../src/evals/store.js';
import { formBody } from '../../src/http/body.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { sendPage } from '../../src/http/pages.js';
import { evalsPage } from '../../templates/console/evals.js';
import { consoleMessagePage } from '../../templates/console/layout.js';
import { html } from '../../templates/layout.js';
import { requireCsrf, requireRole, signedIn } from './auth.js';
import { sendConsolePage } from './pages.js';

/** The report is static: no script may run in it, whatever a case's text held (as `GET /api/evals/:id/report`). */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

const GRANT_ID = /^[A-Za-z0-9_-]{1,100}$/;
const idParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{1,80}$/) });
const pageQuery = z.object({
  applied: z.string().regex(GRANT_ID).optional(),
  revoked: z.string().regex(GRANT_ID).optional(),
});
const applyForm = z.object({ recommendation: z.string().trim().min(1).max(300) });
const revokeForm = z.object({ grant: z.string().trim().regex(GRANT_ID) });

/** What the autonomy service needs, as the API (handlers/autonomy.ts) builds it. */
export function autonomyDeps(deps: Pick<HttpDeps, 'config' | 'store' | 'workflows' | 'now'>): AutonomyServiceDeps {
  return {
    store: deps.store,
    settings: deps.config.settings,
    ceiling: deps.config.autonomy,
    workflows: deps.workflows.listing().map((w) => w.name),
    now: deps.now ?? (() => new Date()),
  };
}

const FAILURE_STATUS: Record<Failure['status'], number> = { 'not-found': 404, conflict: 409, invalid: 400 };

/**
 * `/evals` (viewers and up): each workflow's stored eval runs, linking to their reports, and the autonomy boundary.
 * Admins apply a recommendation or revoke a grant here; the grant records the signed-in person, not a typed name.
 */
export function evalPageRoutes(deps: HttpDeps): Router {
  const router = Router();

  const refuse = (res: Response, f: Failure, what: string) =>
    sendConsolePage(
      res,
      FAILURE_STATUS[f.status],
      consoleMessagePage({
        title: `The ${what} was not recorded`,
        person: signedIn(res),
        section: 'evals',
        lines: [f.message, 'Nothing was changed.', html`<a href="/evals">Back to the boundary</a>`],
      }),
    );

  router.get('/evals', requireRole('viewer'), async (req, res) => {
    const person = signedIn(res);
    const q = pageQuery.safeParse(req.query);
    const names = deps.workflows
      .listing()
      .map((w) => w.name)
      .sort();
    const [runs, boundary] = await Promise.all([
      Promise.all(names.map(async (workflow) => ({ workflow, runs: await listEvalRuns(deps.store, workflow) }))),
      autonomyReport(autonomyDeps(deps)),
    ]);
    if (!boundary.ok) throw new Error(boundary.message);
    const notice = !q.success
      ? undefined
      : q.data.applied
        ? `Grant ${q.data.applied} applied, recorded as applied by ${person.email}.`
        : q.data.revoked
          ? `Grant ${q.data.revoked} revoked by ${person.email}.`
          : undefined;
    sendConsolePage(
      res,
      200,
      evalsPage({ person, runs, boundary: boundary.report, canAct: atLeast(person.role, 'admin'), notice }),
    );
  });

  router.get('/evals/:id', requireRole('viewer'), async (req, res) => {
    const params = idParams.safeParse(req.params);
    const doc = params.success ? await evalRunById(deps.store, params.data.id) : null;
    if (!doc) {
      sendConsolePage(
        res,
        404,
        consoleMessagePage({
          title: 'No such eval run',
          person: signedIn(res),
          section: 'evals',
          lines: [html`<a href="/evals">See the stored eval runs</a>`],
        }),
      );
      return;
    }
    // The stored report is shown as it was rendered; a run stored without one is rendered now from its results.
    const report = doc.reportHtml ?? (await renderEvalReport(doc.run));
    const back = html`<nav aria-label="Console"><a href="/evals">← Back to evals in the console</a></nav>`.value;
    sendPage(
      res,
      200,
      report.replace(/<main>/, () => `<main>${back}`),
      REPORT_CSP,
    );
  });

  router.post('/evals/autonomy/apply', requireRole('admin'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const form = applyForm.safeParse(req.body);
    if (!form.success)
      return refuse(
        res,
        { ok: false, status: 'invalid', message: 'Name a recommendation to apply.', problems: [] },
        'grant',
      );
    const result = await applyRecommendation(autonomyDeps(deps), {
      recommendation: form.data.recommendation,
      actor: person.email,
    });
    if (!result.ok) return refuse(res, result, 'grant');
    res.locals.log?.info({ grant: result.grant.id, actor: person.email }, 'autonomy grant applied in the console');
    res.redirect(303, `/evals?applied=${encodeURIComponent(result.grant.id)}#boundary-${result.grant.workflow}`);
  });

  router.post('/evals/autonomy/revoke', requireRole('admin'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const form = revokeForm.safeParse(req.body);
    if (!form.success)
      return refuse(
        res,
        { ok: false, status: 'invalid', message: 'Name a grant to revoke.', problems: [] },
        'revocation',
      );
    const result = await revokeSliceGrant(autonomyDeps(deps), { grant: form.data.grant, actor: person.email });
    if (!result.ok) return refuse(res, result, 'revocation');
    res.locals.log?.info({ grant: result.grant.id, actor: person.email }, 'autonomy grant revoked in the console');
    res.redirect(303, `/evals?revoked=${encodeURIComponent(result.grant.id)}#boundary-${result.grant.workflow}`);
  });

  return router;
}
