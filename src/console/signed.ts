import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { z } from 'zod';

/**
 * Signed, expiring capabilities of the console (sign-in links, Slack sign-in state, public form links, session
 * cookies): `base64url(JSON).base64url(HMAC)`, with a key derived from APP_SECRET per purpose, so a token made for
 * one purpose never passes for another (nor for an approval link, which has its own derivation).
 */
export type SignedPurpose = 'sign-in' | 'slack-sign-in' | 'form-link' | 'run-status' | 'session' | 'csrf';

const MAX_TOKEN_LENGTH = 4096;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function purposeKey(secret: string, purpose: SignedPurpose): Buffer {
  return createHmac('sha256', secret).update(`countersign/console/${purpose}/v1`).digest();
}

export function macOf(secret: string, purpose: SignedPurpose, text: string): string {
  return createHmac('sha256', purposeKey(secret, purpose)).update(text).digest('base64url');
}

/** Compares two strings in time independent of where they differ (lengths are not secret here). */
export function sameMac(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function randomId(bytes = 18): string {
  return randomBytes(bytes).toString('base64url');
}

export function signToken(secret: string, purpose: SignedPurpose, payload: Record<string, unknown>): string {
  const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${body}.${macOf(secret, purpose, body)}`;
}

export type TokenCheck<T> =
  | { ok: true; payload: T }
  | { ok: false; error: 'malformed' | 'bad_signature' }
  /** Signed by us, so the payload can be trusted to say what it was for; only its time is up. */
  | { ok: false; error: 'expired'; payload: T };

/** Verifies a token of `purpose` whose payload has `exp` (milliseconds since the epoch). */
export function verifyToken<S extends z.ZodType<{ exp: number }>>(
  secret: string,
  purpose: SignedPurpose,
  token: string,
  schema: S,
  now: Date,
): TokenCheck<z.output<S>> {
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return { ok: false, error: 'malformed' };
  const [body = '', signature = ''] = token.split('.');
  if (!sameMac(signature, macOf(secret, purpose, body))) return { ok: false, error: 'bad_signature' };
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, error: 'malformed' };
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) return { ok: false, error: 'malformed' };
  if (now.getTime() >= parsed.data.exp) return { ok: false, error: 'expired', payload: parsed.data };
  return { ok: true, payload: parsed.data };
}
