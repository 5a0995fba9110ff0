import { z } from 'zod';
import { signToken, type TokenCheck, verifyToken } from './signed.js';

/**
 * The two capabilities an intake form hands out to people who are not signed in: a public link to one workflow's
 * form, and a link to one run's progress page. Both are signed and expire, and each is bound to its workflow, so a
 * link to one form never opens another. A form link also names its row in `form_links` (form-link-registry.ts), so
 * an admin can withdraw it before it expires; a progress link is not stored (rotating APP_SECRET revokes them all).
 */
export const FORM_LINK_DAYS = [1, 7, 30] as const;
export type FormLinkDays = (typeof FORM_LINK_DAYS)[number];

const RUN_STATUS_TTL_MS = 7 * 24 * 3_600_000;
const DAY_MS = 24 * 3_600_000;

const formLinkPayload = z.object({
  /** The link's row in form_links. */
  lid: z.string().min(1).max(64),
  wf: z.string().min(1).max(100),
  exp: z.number().int().positive(),
});
export type FormLinkPayload = z.output<typeof formLinkPayload>;

const runStatusPayload = z.object({
  wf: z.string().min(1).max(100),
  run: z.string().min(1).max(100),
  exp: z.number().int().positive(),
});
export type RunStatusPayload = z.output<typeof runStatusPayload>;

export const formLinkExpiry = (now: Date, days: FormLinkDays) => new Date(now.getTime() + days * DAY_MS);

export function formLinkToken(secret: string, o: { id: string; workflow: string; expiresAt: Date }): string {
  return signToken(secret, 'form-link', { lid: o.id, wf: o.workflow, exp: o.expiresAt.getTime() });
}

export type LinkCheck<T> = TokenCheck<T> | { ok: false; error: 'other_workflow' };

/** A public form link for `workflow`: signed by us, for this workflow, not expired. */
export function verifyFormLink(secret: string, token: string, workflow: string, now: Date): LinkCheck<FormLinkPayload> {
  const check = verifyToken(secret, 'form-link', token, formLinkPayload, now);
  if (check.ok === false && check.error !== 'expired') return check;
  return check.payload.wf === workflow ? check : { ok: false, error: 'other_workflow' };
}

export function runStatusToken(secret: string, o: { workflow: string; runId: string; now: Date }): string {
  return signToken(secret, 'run-status', { wf: o.workflow, run: o.runId, exp: o.now.getTime() + RUN_STATUS_TTL_MS });
}

export function verifyRunStatus(
  secret: string,
  token: string,
  workflow: string,
  now: Date,
): LinkCheck<RunStatusPayload> {
  const check = verifyToken(secret, 'run-status', token, runStatusPayload, now);
  if (check.ok === false && check.error !== 'expired') return check;
  return check.payload.wf === workflow ? check : { ok: false, error: 'other_workflow' };
}
