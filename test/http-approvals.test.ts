import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalLink, newTokenId, signApprovalToken } from '../src/approvals/tokens.js';
import type { CheckpointDoc } from '../src/store/models.js';
import { APP_SECRET, type Harness, startHarness } from './http-harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('httpapprovals');
});
afterAll(async () => {
  await h.close();
});

/** A link as the email channel would send it, rewritten to the test server. */
function linkFor(cp: CheckpointDoc, opts: { recipient?: string; secret?: string; expiresInMs?: number } = {}): string {
  const token = signApprovalToken(opts.secret ?? APP_SECRET, {
    checkpointId: cp._id,
    recipient: opts.recipient ?? 'ana@example.com',
    expiresAt: new Date(Date.now() + (opts.expiresInMs ?? 3_600_000)),
    tokenId: newTokenId(),
  });
  return `${h.url}/approvals/${token}`;
}

function submit(url: string, fields: Record<string, string>) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
}

function expectPageHeaders(res: Response) {
  expect(res.headers.get('content-type')).toMatch(/^text\/html/);
  expect(res.headers.get('cache-control')).toBe('no-store');
  expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  expect(res.headers.get('x-robots-tag')).toMatch(/noindex/);
  expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
}

describe('GET /approvals/:token', () => {
  it('shows the evidence, the proposal and a prefilled form', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await fetch(linkFor(cp));
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    const page = await res.text();
    expect(page).toContain(cp.title);
    expect(page).toContain('42.00 USD');
    expect(page).toContain('82%');
    expect(page).toContain('No delivery confirmation.');
    expect(page).toMatch(/<select[^>]*name="edit\.outcome"/);
    expect(page).toContain('<option value="accept" selected>');
    expect(page).toMatch(/<textarea[^>]*name="edit\.reply"[^>]*>\nDear customer,\nwe refunded you.<\/textarea>/);
    expect(page).toContain('value="approve"');
    expect(page).not.toContain('<script');
  });

  it('changes nothing however often it is opened', async () => {
    const cp = h.engine.addCheckpoint();
    const url = linkFor(cp);
    const decisionsBefore = h.engine.decisions.length;
    for (let i = 0; i < 10; i++) expect((await fetch(url)).status).toBe(200);
    expect(await h.store.usedTokens.countDocuments({ checkpointId: cp._id })).toBe(0);
    expect(h.engine.decisions.length).toBe(decisionsBefore);
    expect(h.engine.checkpoints.get(cp._id)?.status).toBe('pending');
  });

  it('escapes everything the AI or the customer wrote', async () => {
    const cp = h.engine.addCheckpoint({
      title: '<script>alert(1)</script>',
      summary: '"><img src=x onerror=alert(1)>',
    });
    const page = await (await fetch(linkFor(cp))).text();
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('shows who decided instead of a form once the checkpoint is decided', async () => {
    const cp = h.engine.addCheckpoint();
    await h.engine.decide({ checkpointId: cp._id, decision: 'reject', actor: 'U123', channel: 'slack' });
    const res = await fetch(linkFor(cp));
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('Rejected by U123 via Slack');
    expect(page).not.toContain('<form');
  });

  it('says a link has expired with status 410', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await fetch(linkFor(cp, { expiresInMs: -1000 }));
    expect(res.status).toBe(410);
    expectPageHeaders(res);
    expect(await res.text()).toContain('This link has expired');
  });

  it('says a tampered link is not valid, whether payload or signature was changed', async () => {
    const cp = h.engine.addCheckpoint();
    const url = linkFor(cp);
    const token = url.split('/').pop() ?? '';
    const [body = '', sig = ''] = token.split('.');
    const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    for (const bad of [`${flip(body, 10)}.${sig}`, `${body}.${flip(sig, 10)}`]) {
      const res = await fetch(`${h.url}/approvals/${bad}`);
      expect(res.status).toBe(404);
      const page = await res.text();
      expect(page).toContain('This link is not valid');
      expect(page).not.toMatch(/at .*\.(ts|js):\d+/);
    }
  });

  it('says a link from another installation is not valid', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await fetch(linkFor(cp, { secret: 'another-installation-secret-0123456789' }));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('This link is not valid');
  });

  it('says a garbled link is not valid with 400', async () => {
    const res = await fetch(`${h.url}/approvals/not-a-token`);
    expect(res.status).toBe(400);
    expectPageHeaders(res);
    expect(await res.text()).toContain('This link is not valid');
  });

  it('refuses someone no longer among the approvers', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await fetch(linkFor(cp, { recipient: 'eve@example.com' }));
    expect(res.status).toBe(403);
  });
});

describe('POST /approvals/:token', () => {
  it('decides once with the edits that differ, then says the link was used', async () => {
    const cp = h.engine.addCheckpoint();
    const url = linkFor(cp);
    const fields = {
      decision: 'approve',
      'edit.outcome': 'accept',
      'edit.reply': 'Dear customer,\r\nwe refunded you in full.',
      comment: 'ok',
    };
    const res = await submit(url, fields);
    expect(res.status).toBe(200);
    expectPageHeaders(res);
    expect(await res.text()).toContain('Decision recorded');
    expect(h.engine.decisions.at(-1)).toEqual({
      checkpointId: cp._id,
      decision: 'approve',
      edits: { reply: 'Dear customer,\nwe refunded you in full.' },
      comment: 'ok',
      actor: 'ana@example.com',
      channel: 'link',
    });
    expect(await h.store.usedTokens.countDocuments({ checkpointId: cp._id })).toBe(1);

    const decisions = h.engine.decisions.length;
    const again = await submit(url, fields);
    expect(again.status).toBe(410);
    const page = await again.text();
    expect(page).toContain('This link has already been used');
    expect(page).toContain('Approved by ana@example.com');
    expect(h.engine.decisions.length).toBe(decisions);
    expect((await fetch(url)).status).toBe(410);
  });

  it('counts an untouched form as no edits', async () => {
    const cp = h.engine.addCheckpoint();
    await submit(linkFor(cp), {
      decision: 'reject',
      'edit.outcome': 'accept',
      'edit.reply': 'Dear customer,\r\nwe refunded you.',
    });
    expect(h.engine.decisions.at(-1)).toMatchObject({ decision: 'reject', edits: {} });
  });

  it('re-renders the form with the error for an invalid edit and keeps the link usable', async () => {
    const cp = h.engine.addCheckpoint();
    const url = linkFor(cp);
    const res = await submit(url, { decision: 'approve', 'edit.outcome': 'accept', 'edit.reply': '', comment: 'typo' });
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('The reply cannot be empty.');
    expect(page).toContain('<form');
    expect(page).toContain('typo</textarea>');
    expect(await h.store.usedTokens.countDocuments({ checkpointId: cp._id })).toBe(0);

    const retry = await submit(url, { decision: 'approve', 'edit.outcome': 'accept', 'edit.reply': 'Fixed.' });
    expect(retry.status).toBe(200);
    expect(h.engine.checkpoints.get(cp._id)?.status).toBe('approved');
  });

  it('asks again when neither approve nor reject was chosen', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await submit(linkFor(cp), { decision: 'maybe' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('Choose Approve or Reject.');
    expect(await h.store.usedTokens.countDocuments({ checkpointId: cp._id })).toBe(0);
  });

  it('answers 409 naming who decided first when someone else was quicker', async () => {
    const cp = h.engine.addCheckpoint();
    const url = linkFor(cp);
    await h.engine.decide({ checkpointId: cp._id, decision: 'approve', actor: 'bo@example.com', channel: 'email' });
    const res = await submit(url, { decision: 'reject' });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('Approved by bo@example.com');
  });

  it('gives the link back when the engine reports a lost race', async () => {
    const cp = h.engine.addCheckpoint();
    const url = linkFor(cp);
    const original = h.engine.decide.bind(h.engine);
    h.engine.decide = async (req) => {
      // Someone else decides between our checks and our decision.
      await original({ checkpointId: cp._id, decision: 'reject', actor: 'bo@example.com', channel: 'slack' });
      return original(req);
    };
    try {
      const res = await submit(url, { decision: 'approve' });
      expect(res.status).toBe(409);
      expect(await res.text()).toContain('Rejected by bo@example.com via Slack');
      expect(await h.store.usedTokens.countDocuments({ checkpointId: cp._id })).toBe(0);
    } finally {
      h.engine.decide = original;
    }
  });

  it('shows clear pages for expired and foreign links', async () => {
    const cp = h.engine.addCheckpoint();
    const expired = await submit(linkFor(cp, { expiresInMs: -1 }), { decision: 'approve' });
    expect(expired.status).toBe(410);
    expect(await expired.text()).toContain('This link has expired');
    const foreign = await submit(linkFor(cp, { secret: 'another-installation-secret-0123456789' }), {
      decision: 'approve',
    });
    expect(foreign.status).toBe(404);
    expect(await foreign.text()).toContain('This link is not valid');
    expect(h.engine.checkpoints.get(cp._id)?.status).toBe('pending');
  });

  it('works with links made by approvalLink', async () => {
    const cp = h.engine.addCheckpoint();
    const link = approvalLink(h.url, APP_SECRET, { checkpointId: cp._id, recipient: 'Ana@example.com' });
    expect((await submit(link, { decision: 'approve' })).status).toBe(200);
  });

  it('refuses a form over 64 kB with a page, not a stack trace', async () => {
    const cp = h.engine.addCheckpoint();
    const res = await submit(linkFor(cp), { decision: 'approve', comment: 'x'.repeat(70_000) });
    expect(res.status).toBe(413);
    expectPageHeaders(res);
    expect(await res.text()).not.toContain('PayloadTooLargeError');
  });
});
