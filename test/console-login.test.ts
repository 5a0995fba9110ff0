import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { claimToken } from '../src/approvals/used-tokens.js';
import { signInToken } from '../src/console/sign-in-links.js';
import { startTestApp, type TestApp } from './support/app.js';
import { CONSOLE_PEOPLE, consoleSettings, csrfIn, signInClient, signInLinkFor } from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: 'console-login',
    workers: false,
    env: { COUNTERSIGN_CONFIG: writeSettingsFile('console-login', consoleSettings(40)) },
  });
});

afterAll(async () => {
  await t?.close();
});

/** One browser's cookies, by hand: what a person's browser keeps between requests. */
function browser() {
  const jar = new Map<string, string>();
  const take = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (/max-age=0/i.test(line)) jar.delete(pair.slice(0, eq));
      else jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    jar,
    get: async (path: string) =>
      take(await fetch(`${t.baseUrl}${path}`, { headers: { cookie: cookie() }, redirect: 'manual' })),
    post: async (path: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
      take(
        await fetch(`${t.baseUrl}${path}`, {
          method: 'POST',
          headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: new URLSearchParams(form).toString(),
          redirect: 'manual',
        }),
      ),
  };
}

async function askForLink(b: ReturnType<typeof browser>, email: string) {
  const csrf = csrfIn(await (await b.get('/login')).text());
  return b.post('/login', { _csrf: csrf, email });
}

describe('console sign-in', () => {
  it('sends signed-out visitors to /login and pages to the sign-in form with where they were going', async () => {
    const b = browser();
    const root = await b.get('/');
    expect(root.status).toBe(303);
    expect(root.headers.get('location')).toBe('/login');
    const runs = await b.get('/runs?status=failed');
    expect(runs.status).toBe(303);
    expect(runs.headers.get('location')).toBe(`/login?next=${encodeURIComponent('/runs?status=failed')}`);
    const login = await b.get('/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await login.text()).toContain('Email address');
  });

  it('answers the same for a known and an unknown address, and mails only the known one', async () => {
    const since = new Date();
    const known = await askForLink(browser(), CONSOLE_PEOPLE.viewer);
    const unknown = await askForLink(browser(), 'stranger@example.com');
    expect(known.status).toBe(200);
    expect(unknown.status).toBe(200);
    const strip = (s: string) => s.replaceAll(CONSOLE_PEOPLE.viewer, 'X').replaceAll('stranger@example.com', 'X');
    expect(strip(await known.text())).toBe(strip(await unknown.text()));
    await signInLinkFor(t, CONSOLE_PEOPLE.viewer, since);
    // The known address's mail has arrived; none to the stranger was queued before it.
    expect(t.smtp.messages.some((m) => m.to.includes('stranger@example.com'))).toBe(false);
  });

  it('signs in the browser that asked, once; a replayed link is refused', async () => {
    const b = browser();
    const since = new Date();
    expect((await askForLink(b, CONSOLE_PEOPLE.approver)).status).toBe(200);
    const link = new URL(await signInLinkFor(t, CONSOLE_PEOPLE.approver, since));
    const signedIn = await b.get(link.pathname);
    expect(signedIn.status).toBe(303);
    expect(signedIn.headers.get('location')).toBe('/inbox');
    const cookie = signedIn.headers.getSetCookie().find((c) => c.startsWith('countersign_session='));
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    const home = await b.get('/');
    expect(home.headers.get('location')).toBe('/inbox');

    const again = await browser().get(link.pathname);
    expect(again.status).toBe(410);
    expect(await again.text()).toContain('already been used');
  });

  it('asks another browser (a mail scanner, a phone) to confirm, so opening the link uses nothing up', async () => {
    const b = browser();
    const since = new Date();
    await askForLink(b, CONSOLE_PEOPLE.admin);
    const link = new URL(await signInLinkFor(t, CONSOLE_PEOPLE.admin, since));
    const scanner = browser();
    const preview = await scanner.get(link.pathname);
    expect(preview.status).toBe(200);
    expect(await preview.text()).toContain(`Sign in as ${CONSOLE_PEOPLE.admin}?`);
    expect(preview.headers.getSetCookie().some((c) => c.startsWith('countersign_session='))).toBe(false);

    const phone = browser();
    const confirm = await phone.get(link.pathname);
    const forged = await phone.post(link.pathname, { _csrf: 'forged' });
    expect(forged.status).toBe(403);
    const confirmed = await phone.post(link.pathname, { _csrf: csrfIn(await confirm.text()) });
    expect(confirmed.status).toBe(303);
    expect(confirmed.headers.get('location')).toBe('/inbox');
  });

  it('refuses an expired link clearly, and a tampered one', async () => {
    const old = new Date(Date.now() - 60 * 60_000);
    const token = signInToken('test-app-secret-0123456789-0123456789-abcdef', {
      email: CONSOLE_PEOPLE.viewer,
      now: old,
      browserId: undefined,
    });
    const expired = await browser().get(`/login/${token}`);
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('expired');
    const tampered = await browser().get(`/login/${token.slice(0, -3)}abc`);
    expect(tampered.status).toBe(400);
    expect(await tampered.text()).toContain('not valid');
  });

  it('refuses a link whose token was already claimed, even if it has not expired', async () => {
    const token = signInToken('test-app-secret-0123456789-0123456789-abcdef', {
      email: CONSOLE_PEOPLE.viewer,
      now: new Date(),
      browserId: undefined,
    });
    const payload = JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as { jti: string };
    await claimToken(t.app.store, {
      tokenId: payload.jti,
      checkpointId: 'console-sign-in',
      recipient: CONSOLE_PEOPLE.viewer,
      usedAt: new Date(),
    });
    expect((await browser().get(`/login/${token}`)).status).toBe(410);
  });

  it('refuses a sign-in form without its token and sends nothing', async () => {
    const b = browser();
    await b.get('/login');
    const res = await b.post('/login', { _csrf: 'nope', email: CONSOLE_PEOPLE.viewer });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Nothing was sent');
  });

  it('signs out: the session ends on the server, and the old cookie no longer works', async () => {
    const client = await signInClient(t, CONSOLE_PEOPLE.viewer);
    const cookie = client.cookie;
    expect((await client.get('/runs')).status).toBe(200);
    const forged = await client.post('/logout', { _csrf: 'forged' });
    expect(forged.status).toBe(403);
    expect((await client.post('/logout', {})).status).toBe(200);
    const stale = await fetch(`${t.baseUrl}/runs`, { headers: { cookie }, redirect: 'manual' });
    expect(stale.status).toBe(303);
  });

  it('refuses a forged session cookie', async () => {
    const res = await fetch(`${t.baseUrl}/`, {
      headers: { cookie: 'countersign_session=abc.def' },
      redirect: 'manual',
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toContain('/login');
  });
  // Last: it uses up this client's allowance.
  it('limits link requests per client without saying which addresses exist', async () => {
    const b = browser();
    const csrf = csrfIn(await (await b.get('/login')).text());
    const spoofed = { 'x-forwarded-for': '203.0.113.9' };
    let last: Response | undefined;
    // The limit is per client address (40 here); the tests above asked from 127.0.0.1 too, and a forwarded-for
    // header from the client is not believed. Ask until refused; the refusal is about the rate, not the address.
    for (let i = 0; i < 100; i++) {
      last = await b.post('/login', { _csrf: csrf, email: `nobody${i}@example.com` }, spoofed);
      if (last.status === 429) break;
    }
    expect(last?.status).toBe(429);
    expect(last?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await last?.text()).toContain('Too many sign-in requests');
  });
});
