import type { EmailRoute } from '../../src/channels/email/routing.js';

export type { EmailRoute } from '../../src/channels/email/routing.js';

function recipientMatches(pattern: string, recipients: readonly string[]): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('@')) return recipients.some((r) => r.endsWith(p));
  if (p.endsWith('@')) return recipients.some((r) => r.startsWith(p));
  return recipients.includes(p);
}

/** The first route matching the mail's recipients and subject (see src/channels/email/routing.ts), or null. */
export function routeFor(
  routes: readonly EmailRoute[],
  mail: { to: readonly string[]; subject: string },
): EmailRoute | null {
  return (
    routes.find(
      (r) =>
        (!r.to || recipientMatches(r.to, mail.to)) && (!r.subject || new RegExp(r.subject, 'i').test(mail.subject)),
    ) ?? null
  );
}
