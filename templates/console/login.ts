import { html, type SafeHtml } from '../layout.js';
import { consoleMessagePage, consolePage, csrfField } from './layout.js';

export function loginPage(o: { csrf: string; next?: string; email?: string; error?: string; slack: boolean }): string {
  return consolePage({
    title: 'Sign in',
    body: html`<h1>Sign in to Countersign</h1>
<p>We send a one-time link to your work address. It works for 15 minutes.</p>
${o.error && html`<div class="card errors" role="alert"><p class="error">${o.error}</p></div>`}
<form method="post" action="/login">${csrfField(o.csrf)}${o.next && html`<input type="hidden" name="next" value="${o.next}">`}
<label for="email">Email address</label><input type="email" id="email" name="email" autocomplete="email" required maxlength="320" value="${o.email ?? ''}"${o.error && html` aria-invalid="true"`}>
<div class="actions"><button class="primary" type="submit">Email me a sign-in link</button></div></form>
${o.slack && html`<p>or</p><p><a class="button" href="/login/slack${o.next ? `?next=${encodeURIComponent(o.next)}` : ''}">Sign in with Slack</a></p>`}`,
  });
}

/** The same answer whether or not the address may sign in: the page must not tell who has an account. */
export function linkSentPage(email: string): string {
  return consoleMessagePage({
    title: 'Check your email',
    lines: [
      `If ${email} may use this console, a sign-in link is on its way to it. The link works once, for 15 minutes, in this browser.`,
      html`Nothing arrived? Check spam, or <a href="/login">ask again</a>.`,
    ],
  });
}

export function tooManyRequestsPage(retryAfterSeconds: number): string {
  return consoleMessagePage({
    title: 'Too many sign-in requests',
    lines: [`Please wait ${Math.ceil(retryAfterSeconds / 60)} minutes before asking for another link.`],
  });
}

/** A link opened outside the browser that asked for it: one more click, so a mail scanner's visit uses nothing up. */
export function confirmSignInPage(o: { email: string; token: string; csrf: string; next?: string }): string {
  return consolePage({
    title: 'Sign in',
    body: html`<h1>Sign in as ${o.email}?</h1><p>This link works once. Continue to sign in on this device.</p>
<form method="post" action="/login/${o.token}">${csrfField(o.csrf)}<div class="actions"><button class="primary" type="submit">Sign in</button></div></form>`,
  });
}

export function signInLinkProblemPage(kind: 'used' | 'expired' | 'invalid' | 'not-allowed'): string {
  const lines: Record<typeof kind, (string | SafeHtml)[]> = {
    used: ['Each sign-in link works once.', html`<a href="/login">Ask for a new link</a>.`],
    expired: ['Sign-in links work for 15 minutes.', html`<a href="/login">Ask for a new link</a>.`],
    invalid: [
      'It may have been copied incompletely or changed, or it comes from another Countersign installation.',
      html`<a href="/login">Ask for a new link</a>.`,
    ],
    'not-allowed': ['This address may no longer use the console. Ask an administrator.'],
  };
  const titles: Record<typeof kind, string> = {
    used: 'This sign-in link has already been used',
    expired: 'This sign-in link has expired',
    invalid: 'This sign-in link is not valid',
    'not-allowed': 'You cannot sign in',
  };
  return consoleMessagePage({ title: titles[kind], lines: lines[kind] });
}

export function signedOutPage(): string {
  return consoleMessagePage({ title: 'Signed out', lines: [html`<a href="/login">Sign in again</a>.`] });
}
