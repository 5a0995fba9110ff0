import { createHash } from 'node:crypto';
import { z } from 'zod';
import { randomId, signToken, type TokenCheck, verifyToken } from './signed.js';

/**
 * A sign-in link: who, until when, a token id that makes it single-use (claimed in `used_tokens`), and the hash of
 * the browser that asked for it. That browser is signed in as soon as it opens the link; any other opener (a mail
 * scanner, a link preview, the same person on their phone) gets a page with a button, so a GET never uses it up.
 */
const SIGN_IN_TTL_MS = 15 * 60_000;

const payloadSchema = z.object({
  email: z.email().max(320),
  exp: z.number().int().positive(),
  jti: z.string().min(8).max(64),
  /** base64url SHA-256 of the requesting browser's id cookie, or empty when it had none. */
  bro: z.string().max(64),
});
export type SignInPayload = z.output<typeof payloadSchema>;

function browserHash(browserId: string | undefined): string {
  return browserId ? createHash('sha256').update(browserId).digest('base64url') : '';
}

export function signInToken(secret: string, o: { email: string; now: Date; browserId: string | undefined }): string {
  return signToken(secret, 'sign-in', {
    email: o.email.toLowerCase(),
    exp: o.now.getTime() + SIGN_IN_TTL_MS,
    jti: randomId(12),
    bro: browserHash(o.browserId),
  });
}

export function verifySignInToken(secret: string, token: string, now: Date): TokenCheck<SignInPayload> {
  return verifyToken(secret, 'sign-in', token, payloadSchema, now);
}

/** Whether the browser opening the link is the one that asked for it. */
export function sameBrowser(payload: SignInPayload, browserId: string | undefined): boolean {
  return payload.bro !== '' && payload.bro === browserHash(browserId);
}
