import { z } from 'zod';

/**
 * Which workflow a new email starts, from its recipient and subject. The first matching route wins; a message no
 * route matches is quarantined for a person to look at, never guessed into a workflow.
 */
const emailRouteSchema = z.object({
  name: z.string().min(1).max(60),
  /** Recipient address, `@domain`, or local part followed by `@` (e.g. `disputes@`); any when absent. */
  to: z.string().max(320).optional(),
  /** Case-insensitive regular expression on the subject; any when absent. */
  subject: z.string().max(200).optional(),
  workflow: z.string().min(1).max(63),
  /**
   * What our receiving server must have verified about the sender to start it. `not-fail` (default) refuses a
   * DMARC failure; `pass` needs DMARC to pass (for privileged work such as internal requests).
   */
  requireAuth: z.enum(['not-fail', 'pass']).default('not-fail'),
});
export type EmailRoute = z.output<typeof emailRouteSchema>;

/** Every dispute mailbox goes to the email intake, which gathers the `card-dispute` input. */
export const DEFAULT_ROUTES: EmailRoute[] = [{ name: 'disputes', workflow: 'email-intake', requireAuth: 'not-fail' }];

function recipientMatches(pattern: string, recipients: readonly string[]): boolean {
  const p = pattern.toLowerCase();
  if (p.startsWith('@')) return recipients.some((r) => r.endsWith(p));
  if (p.endsWith('@')) return recipients.some((r) => r.startsWith(p));
  return recipients.includes(p);
}

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
