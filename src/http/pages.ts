import type { Response } from 'express';
import { PAGE_CSP } from '../../templates/layout.js';

/**
 * Headers for every HTML page. Approval pages carry a capability in their URL: no caching, no referrer
 * leaving with it, no indexing, no framing.
 */
export function sendPage(res: Response, status: number, body: string, csp: string = PAGE_CSP): void {
  res
    .status(status)
    .set({
      'Content-Type': 'text/html; charset=utf-8',
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Robots-Tag': 'noindex, nofollow',
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'X-Frame-Options': 'DENY',
    })
    .send(body);
}
