import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AxeResults } from 'axe-core';
import type { BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { createFormLinkRegistry } from '../../src/console/form-link-registry.js';
import { formLinkToken } from '../../src/console/form-links.js';
import { randomId } from '../../src/console/signed.js';
import type { TestApp } from './app.js';
import { artifactPath, launchChromium } from './chromium.js';

/**
 * Helpers for console tests: signing in through the real magic link (caught by the SMTP capture server) in a
 * browser or with fetch, and checking a page with axe-core.
 */

/** People the console tests sign in as, named in their settings file (`consoleSettings`). */
export const CONSOLE_PEOPLE = {
  admin: 'admin@example.com',
  approver: 'approver@example.com',
  viewer: 'viewer@example.com',
} as const;

/**
 * The `console` section giving each of CONSOLE_PEOPLE its role (approver@example.com is in APPROVER_EMAILS). Every
 * test signs in from 127.0.0.1, so the per-client limit is raised; the login test checks the limit itself.
 */
export function consoleSettings(perClient = 500) {
  return {
    console: {
      admins: [CONSOLE_PEOPLE.admin],
      users: [CONSOLE_PEOPLE.viewer],
      signInLimits: { perClient, perAddress: 100 },
    },
  };
}

const LINK = /https?:\/\/\S+\/login\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(\?\S*)?/;

/** The newest sign-in link mailed to `email` after `since`. */
export async function signInLinkFor(t: Pick<TestApp, 'smtp'>, email: string, since: Date): Promise<string> {
  const mail = await t.smtp.waitFor(
    (m) => m.to.includes(email) && m.subject.includes('sign-in link') && m.receivedAt >= since,
    60_000,
  );
  const link = LINK.exec(mail.text)?.[0];
  if (!link) throw new Error(`no sign-in link in the mail to ${email}: ${mail.text}`);
  return link;
}

/** Signs in in a browser the way a person does: the form, the mail, the link. Ends on the page it lands on. */
export async function signInBrowser(t: Pick<TestApp, 'smtp' | 'baseUrl'>, page: Page, email: string): Promise<void> {
  await page.goto(`${t.baseUrl}/login`);
  await page.getByLabel('Email address').fill(email);
  const since = new Date();
  await page.getByRole('button', { name: 'Email me a sign-in link' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  await page.goto(await signInLinkFor(t, email, since));
}

/** A signed-in fetch client: the cookies of one browser, the session's CSRF token, and form posts. */
export interface ConsoleClient {
  email: string;
  cookie: string;
  csrf: string;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** Posts a urlencoded form; `_csrf` is added unless the form sets it. */
  post(path: string, form: Record<string, string | string[]>): Promise<Response>;
}

function cookieJar() {
  const jar = new Map<string, string>();
  return {
    take(res: Response) {
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (value === '' || /max-age=0/i.test(line)) jar.delete(name);
        else jar.set(name, value);
      }
    },
    header: () => [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
  };
}

const CSRF_FIELD = /name="_csrf" value="([^"]+)"/;

export function csrfIn(page: string): string {
  const token = CSRF_FIELD.exec(page)?.[1];
  if (!token) throw new Error('no _csrf field on the page');
  return token;
}

function encode(form: Record<string, string | string[]>): string {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  return body.toString();
}

/** Signs in with fetch through the same form, mail and link a browser uses. */
export async function signInClient(t: TestApp, email: string): Promise<ConsoleClient> {
  const jar = cookieJar();
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${t.baseUrl}${path}`, {
      headers: { cookie: jar.header(), ...headers },
      redirect: 'manual',
    });
    jar.take(res);
    return res;
  };
  const post = async (path: string, form: Record<string, string | string[]>) => {
    const res = await fetch(`${t.baseUrl}${path}`, {
      method: 'POST',
      headers: { cookie: jar.header(), 'content-type': 'application/x-www-form-urlencoded' },
      body: encode(form),
      redirect: 'manual',
    });
    jar.take(res);
    return res;
  };
  const loginCsrf = csrfIn(await (await get('/login')).text());
  const since = new Date();
  const sent = await post('/login', { _csrf: loginCsrf, email });
  if (sent.status !== 200) throw new Error(`POST /login answered ${sent.status}`);
  const link = new URL(await signInLinkFor(t, email, since));
  const signedIn = await get(link.pathname + link.search);
  if (signedIn.status !== 303) throw new Error(`the sign-in link answered ${signedIn.status}`);
  // Every console page of a signed-in person carries the token (the sign-out form), even a 403 for a small role.
  const csrf = csrfIn(await (await get(signedIn.headers.get('location') ?? '/runs')).text());
  return {
    email,
    get cookie() {
      return jar.header();
    },
    csrf,
    get,
    post: (path, form) => post(path, { _csrf: csrf, ...form }),
  };
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

/**
 * Runs axe-core on the page as it is and returns its serious and critical violations (what the tests refuse). The
 * console's policy allows only its own script, so axe comes in with the page's CSP bypassed: open pages with
 * `pageWithAxe`.
 */
export async function seriousAxeViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: AXE_SOURCE });
  const results = await page.evaluate(
    () =>
      (globalThis as unknown as { axe: { run(options: object): Promise<AxeResults> } }).axe.run({
        resultTypes: ['violations'],
      }) as Promise<AxeResults>,
  );
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));
}

/** A new page whose CSP is bypassed for axe only (the console's own policy is tested over HTTP). */
export async function pageWithAxe(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('Page.setBypassCSP', { enabled: true });
  return page;
}

/** Screenshots for the README go to docs/images/console-*.png; others to test-artifacts/. */
export function consoleScreenshotPath(name: string, forReadme = false): string {
  return forReadme
    ? new URL(`../../docs/images/console-${name}.png`, import.meta.url).pathname
    : artifactPath(`console-${name}.png`);
}

/** A public form link as an admin would make it: recorded in form_links (so it can be withdrawn), then signed. */
export async function publicFormLink(
  t: TestApp,
  o: { workflow: string; expiresAt: Date; secret?: string },
): Promise<string> {
  const id = randomId();
  await createFormLinkRegistry(t.app.store.connection).record({
    _id: id,
    workflow: o.workflow,
    mintedBy: CONSOLE_PEOPLE.admin,
    createdAt: new Date(),
    expiresAt: o.expiresAt,
  });
  return formLinkToken(o.secret ?? t.env.APP_SECRET ?? '', { id, workflow: o.workflow, expiresAt: o.expiresAt });
}

/** Debian's Chromium at the console tests' viewport, with a page that axe can run on. */
export async function consoleBrowser() {
  const browser = await launchChromium({ width: 1280, height: 800, javaScriptEnabled: true });
  return { browser, page: await pageWithAxe(browser.context) };
}

/** Fails the test on any serious or critical axe violation of the page as it is, listing them. */
export async function expectAccessible(page: Page): Promise<void> {
  const serious = await seriousAxeViolations(page);
  expect(serious, JSON.stringify(serious, null, 2)).toEqual([]);
}
