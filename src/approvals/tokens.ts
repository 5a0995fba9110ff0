import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * Approval links carry a signed capability: who may decide which checkpoint, until when, and a token id that
 * makes the link single-use (claimed in `used_tokens` by the POST). The token is stateless to verify, so a GET
 * (mail scanners prefetch links) needs no write at all.
 *
 * Format: `base64url(JSON payload).base64url(HMAC-SHA256(key, payload segment))`, where `key` is derived from
 * APP_SECRET for this one purpose, so nothing else signed with APP_SECRET can pass for an approval token.
 */
const APPROVAL_TOKEN_VERSION = 1;
export const DEFAULT_APPROVAL_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Generous for the payload we sign; anything longer is not ours and is refused before any crypto. */
const MAX_TOKEN_LENGTH = 2048;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

const payloadSchema = z.object({
  v: z.literal(APPROVAL_TOKEN_VERSION),
  cid: z.string().min(1).max(200),
  rcp: z.string().min(1).max(320),
  /** Expiry, milliseconds since the epoch. */
  exp: z.number().int().positive(),
  jti: z.string().min(8).max(100),
});

export interface ApprovalTokenPayload {
  checkpointId: string;
  recipient: string;
  expiresAt: Date;
  tokenId: string;
}

export type ApprovalTokenCheck =
  | { ok: true; payload: ApprovalTokenPayload }
  | { ok: false; error: 'malformed' | 'bad_signature' }
  /** The signature was good, so the payload is trustworthy: pages can still say which checkpoint it was for. */
  | { ok: false; error: 'expired'; payload: ApprovalTokenPayload };

function keyOf(secret: string): Buffer {
  return createHmac('sha256', secret).update('countersign/approval-link/v1').digest();
}

function mac(secret: string, payloadSegment: string): string {
  return createHmac('sha256', keyOf(secret)).update(payloadSegment).digest('base64url');
}

export function newTokenId(): string {
  return randomBytes(12).toString('base64url');
}

export function signApprovalToken(secret: string, payload: ApprovalTokenPayload): string {
  const body = Buffer.from(
    JSON.stringify({
      v: APPROVAL_TOKEN_VERSION,
      cid: payload.checkpointId,
      rcp: payload.recipient,
      exp: payload.expiresAt.getTime(),
      jti: payload.tokenId,
    }),
  ).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

export function verifyApprovalToken(secret: string, token: string, now: Date): ApprovalTokenCheck {
  if (token.length > MAX_TOKEN_LENGTH || !TOKEN_SHAPE.test(token)) return { ok: false, error: 'malformed' };
  const [body = '', signature = ''] = token.split('.');
  // Compare the encoded strings, not decoded bytes: base64url has several spellings of the same last byte,
  // and a flipped padding bit must not pass as the original signature.
  const expected = Buffer.from(mac(secret, body));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, error: 'bad_signature' };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, error: 'malformed' };
  }
  const parsed = payloadSchema.safeParse(json);
  if (!parsed.success) return { ok: false, error: 'malformed' };
  const payload: ApprovalTokenPayload = {
    checkpointId: parsed.data.cid,
    recipient: parsed.data.rcp,
    expiresAt: new Date(parsed.data.exp),
    tokenId: parsed.data.jti,
  };
  if (now.getTime() >= parsed.data.exp) return { ok: false, error: 'expired', payload };
  return { ok: true, payload };
}

/** Email addresses compare case-insensitively (config lowercases APPROVER_EMAILS); other ids stay as given. */
export function normalizeRecipient(recipient: string): string {
  const r = recipient.trim();
  return r.includes('@') ? r.toLowerCase() : r;
}

/** The link an approver receives by email: `${publicUrl}/approvals/${token}`. */
export function approvalLink(
  publicUrl: string,
  secret: string,
  opts: { checkpointId: string; recipient: string; ttlMs?: number; now?: Date },
): string {
  const now = opts.now ?? new Date();
  const token = signApprovalToken(secret, {
    checkpointId: opts.checkpointId,
    recipient: normalizeRecipient(opts.recipient),
    expiresAt: new Date(now.getTime() + (opts.ttlMs ?? DEFAULT_APPROVAL_TTL_MS)),
    tokenId: newTokenId(),
  });
  return `${publicUrl.replace(/\/+$/, '')}/approvals/${token}`;
}
