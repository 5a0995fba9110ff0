import { createHash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { z } from 'zod';
import { randomId, signToken, verifyToken } from '../../src/console/signed.js';
import type { HttpDeps } from '../../src/http/deps.js';
import { createIdentities } from '../../src/identity.js';
import { consoleMessagePage } from '../../templates/console/layout.js';
import { cookiesOf, roleOf, setCookie } from './auth.js';
import { safeNext, startSession } from './login.js';
import { sendConsolePage } from './pages.js';

/**
 * "Sign in with Slack" (OpenID Connect, authorization code flow): `/login/slack` sends the browser to Slack with a
 * signed `state` and a nonce bound to this browser by a cookie; `/login/slack/callback` checks both, exchanges the
 * code with the app's client secret (`openid.connect.token`), and reads who it is from `openid.connect.userInfo`,
 * which Slack answers only for that code's token. Only a verified email or a Slack user id the configuration lets
 * into the console signs in.
 */
const NONCE_COOKIE = 'countersign_oidc';
const STATE_TTL_MS = 10 * 60_000;

const stateSchema = z.object({
  exp: z.number().int().positive(),
  n: z.string().max(64),
  next: z.string().max(500).optional(),
});
const callbackQuery = z.object({
  code: z.string().min(1).max(500).optional(),
  state: z.string().min(1).max(2000),
  error: z.string().max(200).optional(),
});
const tokenAnswer = z.union([
  z.object({ ok: z.literal(true), access_token: z.string().min(1) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);
const userInfoAnswer = z.union([
  z.object({
    ok: z.literal(true),
    sub: z.string().min(1),
    email: z.email().optional(),
    email_verified: z.boolean().optional(),
    'https://slack.com/user_id': z.string().optional(),
    name: z.string().optional(),
  }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

const hashOf = (nonce: string) => createHash('sha256').update(nonce).digest('base64url');

function refuse(res: Response, status: number, lines: string[]) {
  sendConsolePage(
    res,
    status,
    consoleMessagePage({ title: 'Slack sign-in did not work', lines: [...lines, 'Try again from the sign-in page.'] }),
  );
}

async function slackMethod(deps: HttpDeps, method: string, init: { form?: Record<string, string>; bearer?: string }) {
  const res = await fetch(new URL(method, deps.config.slack.apiUrl), {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
    },
    body: new URLSearchParams(init.form ?? {}).toString(),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`Slack ${method} answered HTTP ${res.status}`);
  return (await res.json()) as unknown;
}

export function slackSignInRoutes(deps: HttpDeps): Router {
  const router = Router();
  const oidc = deps.config.slack.oidc;
  if (!oidc) return router;
  const now = () => (deps.now ?? (() => new Date()))();
  const redirectUri = `${deps.config.publicUrl.replace(/\/+$/, '')}/login/slack/callback`;

  router.get('/login/slack', (req: Request, res: Response) => {
    const nonce = randomId();
    const next = safeNext(req.query.next);
    const state = signToken(deps.config.appSecret, 'slack-sign-in', {
      exp: now().getTime() + STATE_TTL_MS,
      n: hashOf(nonce),
      ...(next ? { next } : {}),
    });
    setCookie(deps, res, NONCE_COOKIE, nonce, { maxAgeSeconds: STATE_TTL_MS / 1000, path: '/login/slack' });
    const url = new URL(oidc.authorizeUrl);
    url.search = new URLSearchParams({
      response_type: 'code',
      scope: 'openid email profile',
      client_id: oidc.clientId,
      redirect_uri: redirectUri,
      state,
      nonce,
    }).toString();
    res.redirect(303, url.toString());
  });

  router.get('/login/slack/callback', async (req: Request, res: Response) => {
    const query = callbackQuery.safeParse(req.query);
    if (!query.success) return refuse(res, 400, ['Slack sent us back without the expected answer.']);
    if (query.data.error) return refuse(res, 403, [`Slack said: ${query.data.error}.`]);
    const state = verifyToken(deps.config.appSecret, 'slack-sign-in', query.data.state, stateSchema, now());
    const nonce = cookiesOf(req)[NONCE_COOKIE];
    if (!state.ok || !nonce || hashOf(nonce) !== state.payload.n || !query.data.code)
      return refuse(res, 400, ['The sign-in was started in another browser, or took longer than 10 minutes.']);
    setCookie(deps, res, NONCE_COOKIE, '', { maxAgeSeconds: 0, path: '/login/slack' });
    const token = tokenAnswer.safeParse(
      await slackMethod(deps, 'openid.connect.token', {
        form: {
          client_id: oidc.clientId,
          client_secret: oidc.clientSecret,
          code: query.data.code,
          redirect_uri: redirectUri,
        },
      }),
    );
    if (!token.success || !token.data.ok)
      return refuse(res, 502, [
        `Slack did not accept the sign-in (${token.success && !token.data.ok ? token.data.error : 'unexpected answer'}).`,
      ]);
    const info = userInfoAnswer.safeParse(
      await slackMethod(deps, 'openid.connect.userInfo', { bearer: token.data.access_token }),
    );
    if (!info.success || !info.data.ok) return refuse(res, 502, ['Slack did not say who you are.']);
    const slackUserId = info.data['https://slack.com/user_id'] ?? info.data.sub;
    const email = info.data.email_verified ? info.data.email?.toLowerCase() : undefined;
    if (!email || !roleOf(deps, email, slackUserId))
      return refuse(res, 403, ['Your Slack account may not use this console. Ask an administrator.']);
    // Clicks in Slack and decisions in the console are then one person (src/identity.ts).
    await createIdentities(deps.store).link({
      email,
      slackUserId,
      ...(info.data.name ? { name: info.data.name } : {}),
    });
    await startSession(deps, res, { email, via: 'slack', slackUserId, next: state.payload.next });
  });

  return router;
}
