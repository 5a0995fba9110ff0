import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { consoleSettings } from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';
import { type SlackStandin, startSlackStandin } from './support/slack-standin.js';

let t: TestApp;
let slack: SlackStandin;

beforeAll(async () => {
  slack = await startSlackStandin();
  slack.addUser({ id: 'U0LEAD', email: 'lead@example.com', name: 'Lea Lead' });
  slack.addUser({ id: 'U0STRANGER', email: 'stranger@example.com' });
  slack.addUser({ id: 'U0NOMAIL' });
  const settings = { ...consoleSettings(), groups: { leads: ['U0LEAD'] } };
  t = await startTestApp({
    label: 'console-slack',
    workers: false,
    env: {
      COUNTERSIGN_CONFIG: writeSettingsFile('console-slack-sign-in', settings),
      SLACK_API_URL: slack.url,
      SLACK_CLIENT_ID: slack.oidc.clientId,
      SLACK_CLIENT_SECRET: slack.oidc.clientSecret,
      SLACK_OIDC_AUTHORIZE_URL: slack.oidc.authorizeUrl,
    },
  });
});

afterAll(async () => {
  await t?.close();
  await slack?.close();
});

/** Follows the redirects of the sign-in by hand, keeping one browser's cookies for our origin. */
async function signInWithSlack(userId: string | undefined, tamper?: (callback: URL) => void) {
  slack.oidc.signInAs(userId);
  const cookies = new Map<string, string>();
  const keep = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    return res;
  };
  const header = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const start = keep(await fetch(`${t.baseUrl}/login/slack?next=/runs`, { redirect: 'manual' }));
  expect(start.status).toBe(303);
  const authorize = new URL(start.headers.get('location') ?? '');
  expect(authorize.searchParams.get('scope')).toBe('openid email profile');
  const atSlack = await fetch(authorize, { redirect: 'manual' });
  const callback = new URL(atSlack.headers.get('location') ?? '');
  tamper?.(callback);
  return keep(
    await fetch(`${t.baseUrl}${callback.pathname}${callback.search}`, {
      headers: { cookie: header() },
      redirect: 'manual',
    }),
  );
}

describe('Sign in with Slack', () => {
  it('offers the button on the sign-in page', async () => {
    expect(await (await fetch(`${t.baseUrl}/login`)).text()).toContain('Sign in with Slack');
  });

  it('signs in an approver named only by Slack user id, and links their email to it', async () => {
    const done = await signInWithSlack('U0LEAD');
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe('/runs');
    expect(done.headers.getSetCookie().some((c) => c.startsWith('countersign_session='))).toBe(true);
    const identity = await t.app.store.identities.findById('lead@example.com').lean();
    expect(identity?.slackUserId).toBe('U0LEAD');
    expect(slack.callsTo('openid.connect.token')).toHaveLength(1);
  });

  it('refuses a Slack account the configuration does not name, or one without a verified email', async () => {
    const stranger = await signInWithSlack('U0STRANGER');
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toContain('may not use this console');
    expect((await signInWithSlack('U0NOMAIL')).status).toBe(403);
  });

  it('refuses a callback whose state was altered or that comes to another browser', async () => {
    const altered = await signInWithSlack('U0LEAD', (cb) =>
      cb.searchParams.set('state', `${cb.searchParams.get('state')}x`),
    );
    expect(altered.status).toBe(400);
    slack.oidc.signInAs('U0LEAD');
    const start = await fetch(`${t.baseUrl}/login/slack`, { redirect: 'manual' });
    const atSlack = await fetch(new URL(start.headers.get('location') ?? ''), { redirect: 'manual' });
    const callback = new URL(atSlack.headers.get('location') ?? '');
    // No nonce cookie: the code was started elsewhere (login CSRF).
    const elsewhere = await fetch(`${t.baseUrl}${callback.pathname}${callback.search}`, { redirect: 'manual' });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.headers.getSetCookie().some((c) => c.startsWith('countersign_session='))).toBe(false);
  });

  it('says so when the person declines at Slack', async () => {
    const declined = await signInWithSlack(undefined);
    expect(declined.status).toBe(403);
    expect(await declined.text()).toContain('access_denied');
  });
});
