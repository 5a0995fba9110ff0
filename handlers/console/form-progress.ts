import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { verifyRunStatus } from '../../src/console/form-links.js';
import { runProgress } from '../../src/console/run-progress.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { formProblemPage, progressFragment, progressPage, progressRefusal } from '../../templates/console/forms.js';
import { personOf } from './auth.js';
import { sendConsolePage, sendFragment } from './pages.js';

const params = z.object({
  workflow: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/i),
  token: z.string().min(1).max(4096),
});

/**
 * `/forms/:workflow/submitted/:token` and its live fragment: where a submitted form leads, for staff and public
 * visitors alike. The signed token is the only key: it names one run of one workflow and expires.
 */
export function formProgressRoutes(deps: HttpDeps): Router {
  const router = Router();
  const now = () => (deps.now ?? (() => new Date()))();

  const show = async (req: Request, res: Response, fragment: boolean) => {
    const p = params.safeParse(req.params);
    const check = p.success ? verifyRunStatus(deps.config.appSecret, p.data.token, p.data.workflow, now()) : undefined;
    const refuse = (status: number, title: string, line: string) => {
      if (fragment)
        res
          .status(status)
          .type('text/html; charset=utf-8')
          .send(String(progressRefusal(title, line)));
      else sendConsolePage(res, status, formProblemPage({ title, lines: [line], ...personIf(res) }));
    };
    if (!p.success || !check || (!check.ok && check.error !== 'expired'))
      return refuse(403, 'This link is not valid', 'It is incomplete or was not made by this service.');
    if (!check.ok) return refuse(410, 'This link has expired', 'Progress links work for 7 days after sending.');
    const run = await deps.engine.getRun(check.payload.run);
    if (!run) return refuse(404, 'Not found', 'There is no record of this submission.');
    const progress = runProgress(run);
    if (fragment) return sendFragment(req, res, progressFragment(progress));
    const person = personOf(res);
    sendConsolePage(
      res,
      200,
      progressPage({
        // Staff may read everything about the run; a customer sees only its status and step names.
        ...(person ? { person, runHref: `/runs/${encodeURIComponent(run.id)}` } : {}),
        workflow: run.workflow,
        progress,
        liveUrl: `/forms/${encodeURIComponent(run.workflow)}/submitted/${p.data.token}/live`,
      }),
    );
  };

  router.get('/forms/:workflow/submitted/:token', (req, res) => show(req, res, false));
  router.get('/forms/:workflow/submitted/:token/live', (req, res) => show(req, res, true));
  return router;
}

function personIf(res: Response) {
  const person = personOf(res);
  return person ? { person } : {};
}
