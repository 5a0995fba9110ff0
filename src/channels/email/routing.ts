import { z } from 'zod';

/**
 * Which workflow a new email starts, from its recipient and subject. The first matching route wins; a message no
 * route matches is quarantined for a person to look at, never guessed into a workflow. Routes come from the
 * configuration file first, then from each module's `intake.email`, in the order the modules are listed.
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
