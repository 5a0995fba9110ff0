import type { ConsoleRole } from '../../src/console/roles.js';
import { html, SafeHtml } from '../layout.js';
import { CONSOLE_CSS_PATH, CONSOLE_JS_PATH } from './assets.js';

/** The signed-in person as pages see them (handlers/console/auth.ts ConsolePerson, minus the session id). */
export interface PageViewer {
  email: string;
  role: ConsoleRole;
  csrf: string;
}

export type ConsoleSection = 'inbox' | 'runs' | 'insights' | 'evals' | 'forms';

const SECTIONS: { id: ConsoleSection; href: string; label: string }[] = [
  { id: 'inbox', href: '/inbox', label: 'Inbox' },
  { id: 'runs', href: '/runs', label: 'Runs' },
  { id: 'insights', href: '/insights', label: 'Insights' },
  { id: 'evals', href: '/evals', label: 'Evals' },
  { id: 'forms', href: '/forms', label: 'Forms' },
];

/** The hidden field every console form carries. */
export function csrfField(token: string): SafeHtml {
  return html`<input type="hidden" name="_csrf" value="${token}">`;
}

/**
 * A console page: the skip link, the navigation with the current section marked, who is signed in and a sign-out
 * button, then the body. Works without the script; the script only refreshes `[data-live-url]` regions.
 */
export function consolePage(opts: {
  title: string;
  person?: PageViewer;
  section?: ConsoleSection;
  body: SafeHtml;
}): string {
  const { person } = opts;
  const nav = person
    ? html`<nav class="main" aria-label="Console"><ul>${SECTIONS.map(
        (s) => html`<li><a href="${s.href}"${s.id === opts.section && html` aria-current="page"`}>${s.label}</a></li>`,
      )}</ul></nav><div class="who"><span>${person.email} <span class="muted">(${person.role})</span></span><form method="post" action="/logout">${csrfField(person.csrf)}<button type="submit">Sign out</button></form></div>`
    : '';
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="robots" content="noindex,nofollow"><title>${opts.title} · Countersign</title><link rel="stylesheet" href="${CONSOLE_CSS_PATH}"><script src="${CONSOLE_JS_PATH}" defer></script></head><body><a class="skip" href="#main">Skip to content</a><header class="top"><a class="brand" href="/">Countersign</a>${nav}</header><main id="main" tabindex="-1">${opts.body}</main></body></html>`}`;
}

/** A page that only says something (refusals, confirmations), inside the console's frame. */
export function consoleMessagePage(opts: {
  title: string;
  person?: PageViewer;
  lines: (string | SafeHtml)[];
  section?: ConsoleSection;
}): string {
  return consolePage({
    title: opts.title,
    ...(opts.person ? { person: opts.person } : {}),
    ...(opts.section ? { section: opts.section } : {}),
    body: html`<h1>${opts.title}</h1>${opts.lines.map((l) => html`<p>${l}</p>`)}`,
  });
}

/** A region the script refreshes from `url` (an HTML fragment answered with an ETag). */
export function liveRegion(opts: { url: string; etag?: string; intervalMs?: number; label: string; body: SafeHtml }) {
  return html`<div data-live-url="${opts.url}"${opts.etag && html` data-live-etag="${opts.etag}"`} data-live-interval="${opts.intervalMs ?? 3000}" aria-live="polite" aria-label="${opts.label}">${opts.body}</div>`;
}

export { SafeHtml };
