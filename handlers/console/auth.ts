import { parseCookie, stringifySetCookie } from 'cookie';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { atLeast, type ConsoleRole, consoleRoster } from '../../src/console/roles.js';
import { anonymousCsrfToken, anonymousCsrfValid, SESSION_COOKIE } from '../../src/console/sessions.js';
import { randomId } from '../../src/console/signed.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { sendPage } from '../../src/http/pages.js';
import { consoleMessagePage } from '../../templates/console/layout.js';

/** The person behind a console request, as every console page and action sees them. */
export interface ConsolePerson {
  email: string;
  role: ConsoleRole;
  sessionId: string;
  /** The token every form of this session carries (`_csrf`). */
  csrf: string;
}

const BROWSER_COOKIE = 'countersign_browser';

export function cookiesOf(req: Request): Record<string, string | undefined> {
  return parseCookie(req.get('cookie') ?? '');
}

function secureCookies(deps: HttpDeps): boolean {
  return deps.config.publicUrl.startsWith('https:');
}

export function setCookie(
  deps: HttpDeps,
  res: Response,
  name: string,
  value: string,
  opts: { maxAgeSeconds?: number; path?: string } = {},
): void {
  res.append(
    'Set-Cookie',
    stringifySetCookie({
      name,
      value,
      httpOnly: true,
      sameSite: 'lax',
      secure: secureCookies(deps),
      path: opts.path ?? '/',
      ...(opts.maxAgeSeconds !== undefined ? { maxAge: opts.maxAgeSeconds } : {}),
    }),
  );
}

/** The signed-in person, set by `withPerson`; undefined on pages that do not require one. */
export function personOf(res: Response): ConsolePerson | undefined {
  const p: unknown = res.locals.consolePerson;
  return p && typeof p === 'object' ? (p as ConsolePerson) : undefined;
}

/** For handlers behind `requireRole`: the person is there. */
export function signedIn(res: Response): ConsolePerson {
  const p = personOf(res);
  if (!p) throw new Error('signedIn() used on a route without requireRole');
  return p;
}

/**
 * The role the configuration gives a person today, by email or by Slack user id, whichever ranks higher (the file
 * is read at start, so a change takes effect for live sessions on restart).
 */
export function roleOf(deps: HttpDeps, email: string, slackUserId?: string): ConsoleRole | undefined {
  const roster = consoleRoster(deps.config);
  const roles = [roster.get(email.toLowerCase()), slackUserId ? roster.get(slackUserId) : undefined];
  return roles.reduce<ConsoleRole | undefined>((a, b) => (b === undefined || (a && atLeast(a, b)) ? a : b), undefined);
}

/** Reads the session cookie, if any, into `personOf(res)`; never refuses. */
export function withPerson(deps: HttpDeps): RequestHandler {
  const now = deps.now ?? (() => new Date());
  return async (req, res, next) => {
    const session = await deps.console.sessions.read(cookiesOf(req)[SESSION_COOKIE], now());
    const role = session ? roleOf(deps, session.email, session.slackUserId) : undefined;
    if (session && role) {
      const person: ConsolePerson = {
        email: session.email,
        role,
        sessionId: session._id,
        csrf: deps.console.sessions.csrfToken(session._id),
      };
      res.locals.consolePerson = person;
    }
    next();
  };
}

function wantsHtml(req: Request): boolean {
  return req.method === 'GET' || req.method === 'HEAD';
}

/**
 * Pages and actions for signed-in people of at least `role`. Signed out: a GET goes to `/login?next=…`, anything
 * else is 401. Signed in with too small a role: 403 with a page saying which role is needed.
 */
export function requireRole(role: ConsoleRole): RequestHandler {
  return (req, res, next) => {
    const person = personOf(res);
    if (!person) {
      if (wantsHtml(req)) {
        res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
        return;
      }
      sendPage(
        res,
        401,
        consoleMessagePage({ title: 'Sign in first', lines: ['Your session has ended. Sign in again and retry.'] }),
      );
      return;
    }
    if (!atLeast(person.role, role)) {
      sendPage(
        res,
        403,
        consoleMessagePage({
          title: 'Not allowed',
          person,
          lines: [`This needs the ${role} role; ${person.email} is a ${person.role}. Nothing was changed.`],
        }),
      );
      return;
    }
    next();
  };
}

/** Whether a POST came from a page of ours: a browser names the page's origin; scripts without one must carry the token. */
export function foreignOrigin(deps: HttpDeps, req: Request): boolean {
  const origin = req.get('origin');
  if (!origin || origin === 'null') return false;
  return origin !== new URL(deps.config.publicUrl).origin;
}

function refuseForgery(res: Response, person?: ConsolePerson): void {
  sendPage(
    res,
    403,
    consoleMessagePage({
      title: 'This form could not be verified',
      person,
      lines: [
        'The form was not sent from a page of this console, or it is older than your session. Nothing was changed.',
        'Go back, reload the page and try again.',
      ],
    }),
  );
}

/** CSRF check for a signed-in person's form (after the body is parsed): `_csrf` must be this session's token. */
export function requireCsrf(deps: HttpDeps): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const person = personOf(res);
    const given: unknown = (req.body as Record<string, unknown> | undefined)?._csrf;
    if (!person || foreignOrigin(deps, req) || !deps.console.sessions.csrfValid(person.sessionId, given)) {
      refuseForgery(res, person);
      return;
    }
    next();
  };
}

/**
 * Forms shown to people who are not signed in (sign-in, public intake forms) are tied to a random cookie of the
 * browser: `browserCsrf` returns the token for the page (setting the cookie when needed), `browserCsrfValid`
 * checks a POST's token (from the parsed body, or from the multipart stream).
 */
export function browserCsrf(deps: HttpDeps, req: Request, res: Response): string {
  let id = cookiesOf(req)[BROWSER_COOKIE];
  if (!id || !/^[A-Za-z0-9_-]{16,64}$/.test(id)) {
    id = randomId();
    setCookie(deps, res, BROWSER_COOKIE, id, { maxAgeSeconds: 60 * 60 * 24 * 30 });
  }
  return anonymousCsrfToken(deps.config.appSecret, id);
}

export function browserCsrfValid(deps: HttpDeps, req: Request, given: unknown): boolean {
  return !foreignOrigin(deps, req) && anonymousCsrfValid(deps.config.appSecret, cookiesOf(req)[BROWSER_COOKIE], given);
}

/** The browser's id cookie value (set by `browserCsrf`), to bind a sign-in link to the browser that asked for it. */
export function browserIdOf(req: Request): string | undefined {
  return cookiesOf(req)[BROWSER_COOKIE];
}
