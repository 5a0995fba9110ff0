import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { redactionKeys, redactRunDetail } from '../../src/console/redact.js';
import { listRunsPage, RUN_STATUSES, type RunsQuery, runsQuerySchema } from '../../src/console/runs-query.js';
import type { RunDetailView } from '../../src/engine/types.js';
import { InvalidInput, NotFound } from '../../src/errors.js';
import { formBody } from '../../src/http/body.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { consoleMessagePage } from '../../templates/console/layout.js';
import {
  confirmActionPage,
  FINISHED,
  NOTICES,
  type NoticeKey,
  runDetailFragment,
  runDetailPage,
} from '../../templates/console/run-detail.js';
import { type RunsFilterValues, runsListPage } from '../../templates/console/runs.js';
import { html } from '../../templates/layout.js';
import { type ConsolePerson, requireCsrf, requireRole, signedIn } from './auth.js';
import { sendConsolePage, sendFragment } from './pages.js';

const runParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_.:-]{1,200}$/) });
const stepParams = runParams.extend({ stepId: z.string().regex(/^[A-Za-z0-9_.:#@-]{1,200}$/) });
const cancelForm = z.object({ reason: z.string().trim().max(500).optional() });
const retrySeen = z.object({ seen: z.coerce.number().int().min(0).max(10_000) });
const noticeQuery = z
  .object({ done: z.enum(Object.keys(NOTICES) as [NoticeKey, ...NoticeKey[]]).optional() })
  .catch({});

/** The filter values as typed, for the form to show back (strings only: anything else was not a form's). */
function typedFilters(query: Request['query']): RunsFilterValues {
  const out: Record<string, string> = {};
  for (const k of ['workflow', 'status', 'from', 'to', 'customer', 'approver', 'q'] as const) {
    const v = query[k];
    if (typeof v === 'string' && v !== '') out[k] = v.slice(0, 320);
  }
  return out;
}

/** The query string of a page of the same list, with its cursor. */
function pageHref(q: RunsQuery, cursor: { before?: string; after?: string }): string {
  const params = new URLSearchParams();
  for (const k of ['q', 'workflow', 'status', 'from', 'to', 'customer', 'approver'] as const) {
    const v = q[k];
    if (v) params.set(k, v);
  }
  if (cursor.before) params.set('before', cursor.before);
  if (cursor.after) params.set('after', cursor.after);
  return `/runs?${params.toString()}`;
}

const viewer = (p: ConsolePerson) => ({ email: p.email, role: p.role, csrf: p.csrf });

/** GET /runs, GET /runs/:id and its live fragment, and the admin's cancel and retry with their confirmations. */
export function runRoutes(deps: HttpDeps): Router {
  const router = Router();
  const now = () => (deps.now ?? (() => new Date()))();
  const keys = redactionKeys(deps.config.settings.console.redact);
  const workflows = () => deps.workflows.listing().map((w) => w.name);

  router.get('/runs', requireRole('viewer'), async (req, res) => {
    const person = signedIn(res);
    const parsed = runsQuerySchema.safeParse(req.query);
    const base = {
      person: viewer(person),
      workflows: workflows(),
      statuses: RUN_STATUSES,
      filters: typedFilters(req.query),
    };
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => ({ field: String(i.path[0] ?? 'query'), message: i.message }));
      return sendConsolePage(res, 400, runsListPage({ ...base, runs: [], problems }));
    }
    const page = await listRunsPage(deps.store, parsed.data);
    sendConsolePage(
      res,
      200,
      runsListPage({
        ...base,
        runs: page.runs,
        ...(page.older ? { olderHref: pageHref(parsed.data, { before: page.older }) } : {}),
        ...(page.newer ? { newerHref: pageHref(parsed.data, { after: page.newer }) } : {}),
      }),
    );
  });

  /** The run, redacted, or a 404 page already sent. */
  const loadRun = async (req: Request, res: Response): Promise<RunDetailView | undefined> => {
    const params = runParams.safeParse(req.params);
    const run = params.success ? await deps.engine.getRunDetail(params.data.id) : null;
    if (!run) {
      sendConsolePage(
        res,
        404,
        consoleMessagePage({
          title: 'No such run',
          person: viewer(signedIn(res)),
          section: 'runs',
          lines: ['There is no run with this id. It may have been typed wrong.'],
        }),
      );
      return undefined;
    }
    return redactRunDetail(run, keys);
  };

  router.get('/runs/:id', requireRole('viewer'), async (req, res) => {
    const run = await loadRun(req, res);
    if (!run) return;
    const { done } = noticeQuery.parse(req.query);
    sendConsolePage(
      res,
      200,
      runDetailPage({ person: viewer(signedIn(res)), run, now: now(), ...(done ? { notice: done } : {}) }),
    );
  });

  router.get('/runs/:id/live', requireRole('viewer'), async (req, res) => {
    const run = await loadRun(req, res);
    if (!run) return;
    sendFragment(req, res, runDetailFragment({ person: viewer(signedIn(res)), run, now: now() }));
  });

  const refuse = (res: Response, status: number, title: string, line: string, runId: string) =>
    sendConsolePage(
      res,
      status,
      consoleMessagePage({
        title,
        person: viewer(signedIn(res)),
        section: 'runs',
        lines: [
          line,
          runId ? html`<a href="/runs/${runId}">Back to the run</a>` : html`<a href="/runs">Back to the runs</a>`,
        ],
      }),
    );

  router.get('/runs/:id/cancel', requireRole('admin'), async (req, res) => {
    const run = await loadRun(req, res);
    if (!run) return;
    if (FINISHED.has(run.status))
      return refuse(res, 409, 'This run has finished', `The run is ${run.status}; there is nothing to cancel.`, run.id);
    const pending = run.checkpoints.filter((c) => c.status === 'pending').length;
    sendConsolePage(
      res,
      200,
      confirmActionPage({
        person: viewer(signedIn(res)),
        title: `Cancel run ${run.id}?`,
        runId: run.id,
        lines: [
          `The ${run.workflow} run is ${run.status}. Cancelling it stops it for good: no further step is dispatched${pending > 0 ? `, and its ${pending} pending checkpoint${pending === 1 ? ' is' : 's are'} cancelled, so nobody can decide ${pending === 1 ? 'it' : 'them'} any more` : ''}.`,
          'Steps already done stay done (an email already sent is not recalled). Who cancelled and why is kept in the run.',
        ],
        action: `/runs/${run.id}/cancel`,
        button: 'Cancel run',
        confirm: `Cancel run ${run.id}? This cannot be undone.`,
        withReason: true,
      }),
    );
  });

  router.post('/runs/:id/cancel', requireRole('admin'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const params = runParams.safeParse(req.params);
    const form = cancelForm.safeParse(req.body ?? {});
    if (!params.success || !form.success)
      return refuse(res, 400, 'The request could not be read', 'Nothing was changed.', params.data?.id ?? '');
    const runId = params.data.id;
    try {
      const out = await deps.engine.cancelRun({
        runId,
        actor: person.email,
        ...(form.data.reason ? { reason: form.data.reason } : {}),
      });
      res.locals.log?.info({ runId, actor: person.email, cancelled: out.cancelled }, 'console: run cancel');
      res.redirect(303, `/runs/${runId}?done=${out.cancelled ? 'cancelled' : 'already-finished'}`);
    } catch (err) {
      if (err instanceof NotFound) return refuse(res, 404, 'No such run', 'Nothing was changed.', runId);
      if (err instanceof InvalidInput) return refuse(res, 409, 'The run was not cancelled', err.message, runId);
      throw err;
    }
  });

  router.get('/runs/:id/steps/:stepId/retry', requireRole('admin'), async (req, res) => {
    const run = await loadRun(req, res);
    if (!run) return;
    const stepId = stepParams.safeParse(req.params).data?.stepId;
    const step = run.steps.find((s) => s.id === stepId);
    if (!step) return refuse(res, 404, 'No such step', `Run ${run.id} has no step with this id.`, run.id);
    if (step.status !== 'failed' || run.status === 'cancelled')
      return refuse(
        res,
        409,
        'This step cannot be retried',
        run.status === 'cancelled'
          ? 'The run was cancelled.'
          : `The step is ${step.status}; only a failed step can be tried again.`,
        run.id,
      );
    sendConsolePage(
      res,
      200,
      confirmActionPage({
        person: viewer(signedIn(res)),
        title: `Retry step ${step.name}?`,
        runId: run.id,
        lines: [
          `The ${step.kind} step ${step.name} failed after ${step.attempts} attempt${step.attempts === 1 ? '' : 's'}${step.error ? `: ${step.error.message}` : ''}.`,
          'Retrying runs it again (its earlier attempts stay in the journal) and resumes the run from there; the run is running again.',
        ],
        action: `/runs/${run.id}/steps/${encodeURIComponent(step.id)}/retry`,
        button: 'Retry step',
        confirm: `Retry step ${step.name}?`,
        hidden: { seen: String(step.retries?.length ?? 0) },
      }),
    );
  });

  router.post('/runs/:id/steps/:stepId/retry', requireRole('admin'), formBody, requireCsrf(deps), async (req, res) => {
    const person = signedIn(res);
    const params = stepParams.safeParse(req.params);
    if (!params.success) return refuse(res, 400, 'The request could not be read', 'Nothing was changed.', '');
    const { id: runId, stepId } = params.data;
    try {
      const seen = retrySeen.safeParse(req.body).data?.seen;
      const out = await deps.engine.retryStep({
        runId,
        stepId,
        actor: person.email,
        ...(seen === undefined ? {} : { expectedRetries: seen }),
      });
      res.locals.log?.info({ runId, stepId, actor: person.email, retried: out.retried }, 'console: step retry');
      if (!out.retried) return refuse(res, 409, 'The step was not retried', `The run is ${out.status}.`, runId);
      res.redirect(303, `/runs/${runId}?done=retried`);
    } catch (err) {
      if (err instanceof NotFound) return refuse(res, 404, 'No such run or step', 'Nothing was changed.', runId);
      if (err instanceof InvalidInput) return refuse(res, 409, 'The step was not retried', err.message, runId);
      throw err;
    }
  });

  return router;
}
