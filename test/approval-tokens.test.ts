import { describe, expect, it } from 'vitest';
import {
  approvalLink,
  DEFAULT_APPROVAL_TTL_MS,
  signApprovalToken,
  verifyApprovalToken,
} from '../src/approvals/tokens.js';

const SECRET = 'approval-secret-0123456789abcdefghijkl';
const NOW = new Date('2026-03-01T12:00:00Z');
const payload = {
  checkpointId: 'cp_1',
  recipient: 'ana@example.com',
  expiresAt: new Date(NOW.getTime() + 60_000),
  tokenId: 'tok_abcdefgh',
};

/** Replaces the character at `i` with a different one from the base64url alphabet. */
function flipAt(s: string, i: number): string {
  const c = s[i] === 'A' ? 'B' : 'A';
  return s.slice(0, i) + c + s.slice(i + 1);
}

describe('approval tokens', () => {
  it('verifies a token it signed and returns its payload', () => {
    const token = signApprovalToken(SECRET, payload);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(verifyApprovalToken(SECRET, token, NOW)).toEqual({ ok: true, payload });
  });

  it('says expired once the expiry has passed, and still names the checkpoint', () => {
    const token = signApprovalToken(SECRET, payload);
    const check = verifyApprovalToken(SECRET, token, new Date(NOW.getTime() + 60_000));
    expect(check).toEqual({ ok: false, error: 'expired', payload });
  });

  it('refuses a token whose payload was changed', () => {
    const [body = '', sig = ''] = signApprovalToken(SECRET, payload).split('.');
    for (const i of [0, 5, body.length - 1]) {
      expect(verifyApprovalToken(SECRET, `${flipAt(body, i)}.${sig}`, NOW)).toEqual({
        ok: false,
        error: 'bad_signature',
      });
    }
  });

  it('refuses a token whose signature was changed, including its last character', () => {
    const [body = '', sig = ''] = signApprovalToken(SECRET, payload).split('.');
    for (const i of [0, 20, sig.length - 1]) {
      expect(verifyApprovalToken(SECRET, `${body}.${flipAt(sig, i)}`, NOW)).toEqual({
        ok: false,
        error: 'bad_signature',
      });
    }
  });

  it('refuses a token signed by another installation', () => {
    const foreign = signApprovalToken('another-deployment-secret-0123456789', payload);
    expect(verifyApprovalToken(SECRET, foreign, NOW)).toEqual({ ok: false, error: 'bad_signature' });
  });

  it('calls garbage malformed', () => {
    for (const t of ['', 'abc', 'a.b.c', 'a b.c', `${'a'.repeat(3000)}.b`]) {
      expect(verifyApprovalToken(SECRET, t, NOW)).toEqual({ ok: false, error: 'malformed' });
    }
  });

  it('builds a link under PUBLIC_URL that expires after seven days by default', () => {
    const url = approvalLink('https://cs.example.com/', SECRET, {
      checkpointId: 'cp_9',
      recipient: 'Ana@Example.com',
      now: NOW,
    });
    expect(url).toMatch(/^https:\/\/cs\.example\.com\/approvals\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    const check = verifyApprovalToken(SECRET, url.split('/').pop() ?? '', NOW);
    if (!check.ok) throw new Error(`expected a valid token, got ${check.error}`);
    expect(check.payload.recipient).toBe('ana@example.com');
    expect(check.payload.expiresAt.getTime() - NOW.getTime()).toBe(DEFAULT_APPROVAL_TTL_MS);
  });

  it('gives every link its own token id', () => {
    const opts = { checkpointId: 'cp_9', recipient: 'ana@example.com', now: NOW };
    expect(approvalLink('https://x', SECRET, opts)).not.toBe(approvalLink('https://x', SECRET, opts));
  });
});
