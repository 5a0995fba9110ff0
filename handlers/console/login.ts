import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { claimToken, tokenAlreadyUsed } from '../../src/approvals/used-tokens.js';
import { atLeast } from '../../src/console/roles.js';
import { SESSION_COOKIE } from '../../src/console/sessions.js';
import { sameBrowser, signInToken, verifySignInToken } from '../../src/console/sign-in-links.js';
import { formBody } from '../../src/http/body.js';
import type { HttpDeps } from '../../src/http/deps.js';
import {
  confirmSignInPage,
  linkSentPage,
  loginPage,
  signedOutPage,
  signInLinkProblemPage,
  tooManyRequestsPage,
} from '../../templates/console/login.js';
import { browserCsrf, browserCsrfValid, browserIdOf, personOf, requireCsrf, roleOf, setCookie } from './auth.js';
import { sendConsolePage } from './pages.js';

/** Where to go after signing in: a path of this console only (never `//host` or a full URL). */
export function safeNext(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw.length > 500) return undefined;
  return /^\/(?![/\\])[\x21-\x7e]*$/.test(raw) && !raw.startsWith('/login') ? raw : undefined;
}

const loginForm = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(320)
    .pipe(z.email({ message: 'Enter an email address.' })),
});
const tokenParams = z.object({ token: z.string().min(1).max(4096) });

/** Signs the person in: a session in the store, its cookie in the browser, and on to where they were going. */
export async function startSession(
  deps: HttpDeps,
  res: Response,
  o: { email: string; via: 'email-link' | 'slack'; slackUserId?: string; next: string | undefined },
): Promise<void> {
  const now = (deps.now ?? (() => new Date()))();
  const ttlMs = deps.config.settings.console.sessionHours * 3_600_000;
  const { cookie } = await deps.console.sessions.create({
    email: o.email,
    via: o.via,
    ...(o.slackUserId ? { slackUserId: o.slackUserId } : {}),
    now,
    ttlMs,
  });
  setCookie(deps, res, SESSION_COOKIE, cookie, { maxAgeSeconds: Math.floor(ttlMs / 1000) });
  res.locals.log?.info({ email: o.email, via: o.via }, 'console sign-in');
  // The inbox is where approvers work; viewers have none, so they land on the runs.
  const role = roleOf(deps, o.email, o.slackUserId);
  res.redirect(303, o.next ?? (role && atLeast(role, 'approver') ? '/inbox' : '/runs'));
}

/** `/login`, `/login/:token`, `/logout`: magic-link sign-in (CONTRACT.md) and sign-out. */
export function loginRoutes(deps: HttpDeps): Router {
  const router = Router();
  const now = () => (deps.now ?? (() => new Date()))();
  const slack = Boolean(deps.config.slack.oidc);

  router.get('/login', (req, res) => {
    if (personOf(res)) return res.redirect(303, safeNext(req.query.next) ?? '/inbox');
    const next = safeNext(req.query.next);
    sendConsolePage(res, 200, loginPage({ csrf: browserCsrf(deps, req, res), slack, ...(next ? { next } : {}) }));
  });

  router.post('/login', formBody, async (req: Request, res: Response) => {
    const body: Record<string, unknown> = typeof req.body === 'object' && req.body !== null ? req.body : {};
    const next = safeNext(body.next);
    const again = (status: number, error: string, email?: string) =>
      sendConsolePage(
        res,
        status,
        loginPage({
          csrf: browserCsrf(deps, req, res),
          slack,
          error,
          ...(next ? { next } : {}),
          ...(email ? { email } : {}),
        }),
      );
    if (!browserCsrfValid(deps, req, body._csrf))
      return again(403, 'The form had expired. Nothing was sent; please try again.');
    const form = loginForm.safeParse({ email: body.email });
    if (!form.success)
      return again(
        400,
        'Enter a valid email address.',
        typeof body.email === 'string' ? body.email.slice(0, 320) : undefined,
      );
    const email = form.data.email;
    const client = await deps.console.signInLimits.perClient.hit(req.ip ?? 'unknown');
    if (!client.allowed) {
      res.set('Retry-After', String(client.retryAfterSeconds));
      return sendConsolePage(res, 429, tooManyRequestsPage(client.retryAfterSeconds));
    }
    // Counted for every address, known or not, so the limit itself tells nothing either.
    const address = await deps.console.signInLimits.perAddress.hit(email);
    if (address.allowed && roleOf(deps, email)) {
      const token = signInToken(deps.config.appSecret, { email, now: now(), browserId: browserIdOf(req) });
      const link = `${deps.config.publicUrl.replace(/\/+$/, '')}/login/${token}${next ? `?next=${encodeURIComponent(next)}` : ''}`;
      // Not awaited: the answer takes as long for an unknown address as for a known one.
      deps.console.mailer
        .send(
          {
            to: [email],
            subject: 'Your Countersign sign-in link',
            text: `Open this link to sign in to Countersign:\n\n${link}\n\nIt works once, for 15 minutes. If you did not ask for it, ignore this email.\n`,
          },
          `console-sign-in/${token.slice(-22)}`,
          'sign-in',
        )
        .catch((err: unknown) => deps.logger.warn({ err: (err as Error).message }, 'sign-in link not sent'));
    }
    sendConsolePage(res, 200, linkSentPage(email));
  });

  /** What both methods check; GET never uses the link up unless the browser is the one that asked for it. */
  const openLink = async (req: Request, res: Response, method: 'GET' | 'POST') => {
    const params = tokenParams.safeParse(req.params);
    const check = params.success ? verifySignInToken(deps.config.appSecret, params.data.token, now()) : undefined;
    if (!check || (!check.ok && check.error !== 'expired')) {
      sendConsolePage(res, 400, signInLinkProblemPage('invalid'));
      return undefined;
    }
    if (await tokenAlreadyUsed(deps.store, check.payload.jti)) {
      sendConsolePage(res, 410, signInLinkProblemPage('used'));
      return undefined;
    }
    if (!check.ok) {
      sendConsolePage(res, 410, signInLinkProblemPage('expired'));
      return undefined;
    }
    if (!roleOf(deps, check.payload.email)) {
      sendConsolePage(res, 403, signInLinkProblemPage('not-allowed'));
      return undefined;
    }
    if (method === 'POST' && !browserCsrfValid(deps, req, (req.body as Record<string, unknown> | undefined)?._csrf)) {
      sendConsolePage(res, 403, signInLinkProblemPage('invalid'));
      return undefined;
    }
    return { payload: check.payload, token: params.success ? params.data.token : '' };
  };

  const signInWith = async (req: Request, res: Response, payload: { email: string; jti: string }) => {
    const claimed = await claimToken(deps.store, {
      tokenId: payload.jti,
      checkpointId: 'console-sign-in',
      recipient: payload.email,
      usedAt: now(),
    });
    if (!claimed) return sendConsolePage(res, 410, signInLinkProblemPage('used'));
    await startSession(deps, res, { email: payload.email, via: 'email-link', next: safeNext(req.query.next) });
  };

  router.get('/login/:token', async (req, res) => {
    const link = await openLink(req, res, 'GET');
    if (!link) return;
    if (sameBrowser(link.payload, browserIdOf(req))) return signInWith(req, res, link.payload);
    const next = safeNext(req.query.next);
    sendConsolePage(
      res,
      200,
      confirmSignInPage({
        email: link.payload.email,
        token: link.token,
        csrf: browserCsrf(deps, req, res),
        ...(next ? { next } : {}),
      }),
    );
  });

  router.post('/login/:token', formBody, async (req, res) => {
    const link = await openLink(req, res, 'POST');
    if (!link) return;
    await signInWith(req, res, link.payload);
  });

  router.post('/logout', formBody, requireCsrf(deps), async (_req, res) => {
    const person = personOf(res);
    if (person) await deps.console.sessions.end(person.sessionId);
    setCookie(deps, res, SESSION_COOKIE, '', { maxAgeSeconds: 0 });
    sendConsolePage(res, 200, signedOutPage());
  });

  return router;
}
