import { createHash } from 'node:crypto';
import type { Request, Response } from 'express';
import { sendPage } from '../../src/http/pages.js';
import { CONSOLE_CSP } from '../../templates/console/assets.js';
import type { SafeHtml } from '../../templates/layout.js';

/** A console page: the console's policy (its own script and stylesheet), never cached, never framed. */
export function sendConsolePage(res: Response, status: number, page: string): void {
  sendPage(res, status, page, CONSOLE_CSP);
}

export function etagOf(body: string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/**
 * A live region's fragment: 304 when the browser's `If-None-Match` names what it shows already, so polling costs a
 * render but no transfer and no DOM change.
 */
export function sendFragment(req: Request, res: Response, fragment: SafeHtml | string): void {
  const body = String(fragment);
  const etag = etagOf(body);
  res.set({ ETag: etag, 'Cache-Control': 'no-cache', 'X-Content-Type-Options': 'nosniff' });
  const seen = (req.get('if-none-match') ?? '').split(',').map((t) => t.trim());
  if (seen.includes(etag)) {
    res.status(304).end();
    return;
  }
  res.status(200).type('text/html; charset=utf-8').send(body);
}
