import { Router } from 'express';
import { atLeast } from '../../src/console/roles.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { CONSOLE_CSS, CONSOLE_CSS_PATH, CONSOLE_JS, CONSOLE_JS_PATH } from '../../templates/console/assets.js';
import { personOf, withPerson } from './auth.js';
import { evalPageRoutes } from './evals.js';
import { formRoutes } from './forms.js';
import { inboxRoutes } from './inbox.js';
import { insightsRoutes } from './insights.js';
import { loginRoutes } from './login.js';
import { runRoutes } from './runs.js';
import { slackSignInRoutes } from './slack-sign-in.js';

const IMMUTABLE = 'public, max-age=31536000, immutable';

/**
 * The browser console (CONTRACT.md `GET /`, `/login`, `/inbox`, `/runs`, `/insights`, `/evals`, `/forms`):
 * server-rendered pages that work without script; each part is its own router.
 */
export function consoleRoutes(deps: HttpDeps): Router {
  const router = Router();
  router.get(CONSOLE_CSS_PATH, (_req, res) => {
    res.set({ 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': IMMUTABLE }).send(CONSOLE_CSS);
  });
  router.get(CONSOLE_JS_PATH, (_req, res) => {
    res.set({ 'Content-Type': 'text/javascript; charset=utf-8', 'Cache-Control': IMMUTABLE }).send(CONSOLE_JS);
  });
  router.use(withPerson(deps));
  router.get('/', (_req, res) => {
    const person = personOf(res);
    if (!person) return res.redirect(303, '/login');
    res.redirect(303, atLeast(person.role, 'approver') ? '/inbox' : '/runs');
  });
  for (const part of [
    slackSignInRoutes,
    loginRoutes,
    inboxRoutes,
    runRoutes,
    insightsRoutes,
    evalPageRoutes,
    formRoutes,
  ])
    router.use(part(deps));
  return router;
}
