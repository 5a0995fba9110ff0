import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { customerMail, fixture, handled, startEmailApp } from './support/imap-app.js';

let box: TestMailbox;
let t: TestApp;

beforeAll(async () => {
  box = await testMailbox('review');
  t = await startEmailApp('emailreview', box);
});
afterAll(async () => {
  await t?.close();
});

describe('mail the reader did not act on is shown to staff', () => {
  it('lists a quarantined message with its reason, newest first, and shows it whole', async () => {
    await box.append(fixture('malformed.eml'));
    const doc = await handled(t, '<malformed-0001@nowhere>');
    expect(doc.status).toBe('quarantined');

    const res = await t.api('/api/email/messages?status=quarantined');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { messages: { key: string; reason: string | null; messageId: string }[] };
    const listed = body.messages.find((m) => m.messageId === '<malformed-0001@nowhere>');
    expect(listed?.reason).toBeTruthy();

    const one = await t.api(`/api/email/messages/${encodeURIComponent(listed?.key ?? '')}`);
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ status: 'quarantined', reason: listed?.reason });
  });

  it('lists ignored automatic mail with the rule that caught it', async () => {
    await box.append(
      customerMail({
        messageId: '<ooo-review-1@example.com>',
        subject: 'Out of office',
        body: 'I am away until Monday.',
        headers: { 'Auto-Submitted': 'auto-replied' },
      }),
    );
    const doc = await handled(t, '<ooo-review-1@example.com>');
    expect(doc.status).toBe('ignored');
    const res = await t.api('/api/email/messages?status=ignored');
    const body = (await res.json()) as { messages: { messageId: string; reason: string | null }[] };
    expect(body.messages.find((m) => m.messageId === '<ooo-review-1@example.com>')?.reason).toMatch(/auto/i);
  });

  it('refuses without the API token and answers 400 on a bad filter', async () => {
    expect((await fetch(`${t.baseUrl}/api/email/messages`)).status).toBe(401);
    expect((await t.api('/api/email/messages?status=everything')).status).toBe(400);
    expect((await t.api('/api/email/messages/nope')).status).toBe(404);
  });
});
