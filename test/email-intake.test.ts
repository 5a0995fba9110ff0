import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasPendingCheckpoint, startTestApp, type TestApp } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { AUTHSERV_ID, customerMail, fixture, handled, runsOf, startEmailApp, waitFor } from './support/imap-app.js';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

let box: TestMailbox;
let t: TestApp;
let smtp: SmtpCapture;

beforeAll(async () => {
  box = await testMailbox('intake');
  smtp = await startSmtpCapture();
  t = await startEmailApp('emailintake', box, {}, smtp);
});
afterAll(async () => {
  await t?.close();
  await smtp?.close();
});

const PROCESSED = 'Countersign-Processed';
const QUARANTINE = 'Countersign-Quarantine';

describe('IMAP intake', () => {
  it('turns an appended message into exactly one run and answers in its thread', async () => {
    await box.append(fixture('alternative.eml'));
    const doc = await handled(t, '<alt-0001@mail.example.com>');
    expect(doc.status).toBe('done');
    const intake = await t.waitForRun(doc.runId ?? '', (r) => r.status === 'completed');
    expect(intake.output).toMatchObject({ status: 'started' });
    const receipt = await t.smtp.waitFor((m) => m.headers['in-reply-to'] === '<alt-0001@mail.example.com>');
    expect(receipt.subject).toBe('Re: Charged twice for my subscription');
    expect(receipt.headers['auto-submitted']).toBe('auto-generated');
    expect(await runsOf(t, 'email-intake')).toHaveLength(1);
    expect((await box.list(PROCESSED)).map((m) => m.subject)).toContain('Charged twice for my subscription');
    expect(await box.list('INBOX')).toEqual([]);
  });

  it('reads each message once across a reader restart and a dropped connection', async () => {
    const second = await startTestApp({ label: 'emailrestart', env: { ...t.env }, smtp });
    await t.close(); // the first reader stops; the second one, on the same database, takes over
    t = second;
    await box.append(
      customerMail({ messageId: '<restart-1@example.com>', body: 'I was charged twice, 49.00 EUR, ch_1002.' }),
    );
    await handled(t, '<restart-1@example.com>');
    await box.kick(); // the server drops every connection
    await box.append(
      customerMail({ messageId: '<restart-2@example.com>', body: 'Charged twice again, 49.00 EUR, ch_1002.' }),
    );
    const doc = await handled(t, '<restart-2@example.com>');
    expect(doc.status).toBe('done');
    const starts = (await runsOf(t, 'email-intake')).map((r) => r.source?.key);
    expect(starts.filter((k) => k === '<alt-0001@mail.example.com>')).toHaveLength(1);
    expect(starts.filter((k) => k === '<restart-1@example.com>')).toHaveLength(1);
  });

  it('replays nothing when the mailbox comes back with a new UIDVALIDITY', async () => {
    const before = (await runsOf(t, 'email-intake')).length;
    // A restored mailbox: an old message is back in the inbox and every UID is new.
    await box.append(fixture('alternative.eml'));
    await box.resetUidValidity('INBOX', 4242);
    await box.kick();
    await waitFor('the restored message to be moved away', async () => (await box.list('INBOX')).length === 0);
    expect((await runsOf(t, 'email-intake')).length).toBe(before);
  });
});

describe('real-world MIME', () => {
  it.each([
    ['nested-inline-image.eml', '<nested-0001@mail.example.com>', 'done'],
    ['quoted-printable-latin1.eml', '<qp-0001@mail.example.fr>', 'done'],
    ['forwarded.eml', '<fwd-0001@mail.example.com>', 'done'],
    ['malformed.eml', '<malformed-0001@nowhere>', 'quarantined'],
  ])('handles %s (%s) as %s', async (file, messageId, status) => {
    await box.append(fixture(file));
    const doc = await handled(t, messageId);
    expect(doc.status).toBe(status);
  });

  it('decodes charsets and keeps attachments with type and hash', async () => {
    const qp = await handled(t, '<qp-0001@mail.example.fr>');
    expect(qp.text).toContain('Très déçue');
    expect(qp.fromName).toBe('Renée Dubois');
    const nested = await handled(t, '<nested-0001@mail.example.com>');
    const files = nested.attachments.map((a) => [a.filename, a.contentType, a.inline]);
    expect(files).toEqual(
      expect.arrayContaining([
        ['receipt.pdf', 'application/pdf', false],
        ['screenshot.png', 'image/png', true],
      ]),
    );
    expect(nested.attachments.every((a) => /^[a-f0-9]{64}$/.test(a.sha256))).toBe(true);
    const forwarded = await handled(t, '<fwd-0001@mail.example.com>');
    expect(forwarded.attachments[0]?.text).toContain('ch_3001');
  });

  it('refuses an attachment over the limit politely, without downloading it, and keeps reading', async () => {
    const big = 'A'.repeat(15 * 1024 * 1024).replace(/(.{76})/g, '$1\r\n');
    const raw = customerMail({
      messageId: '<big-0001@example.com>',
      subject: 'Receipt attached',
      body: 'see attached',
      headers: { 'Content-Type': 'multipart/mixed; boundary="x"' },
    }).replace(
      'see attached',
      `--x\r\nContent-Type: text/plain\r\n\r\nReceipt attached.\r\n--x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="scan.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n${big}\r\n--x--`,
    );
    await box.append(raw);
    const doc = await handled(t, '<big-0001@example.com>');
    expect(doc.status).toBe('quarantined');
    const refusal = await t.smtp.waitFor((m) => m.headers['in-reply-to'] === '<big-0001@example.com>');
    expect(refusal.text).toMatch(/"scan\.pdf" is \d+ MB; each file may be up to 10 MB/);
    expect((await box.list(QUARANTINE)).map((m) => m.subject)).toEqual(expect.arrayContaining(['Receipt attached']));
    await box.append(
      customerMail({ messageId: '<after-big@example.com>', body: 'Charged twice, 49.00 EUR, ch_1002.' }),
    );
    expect((await handled(t, '<after-big@example.com>')).status).toBe('done');
  });
});

describe('safety', () => {
  it.each([
    ['out-of-office.eml', '<ooo-0001@mail.example.com>'],
    ['bounce.eml', '<bounce-0001@mx.example.com>'],
  ])('starts nothing and answers nothing for %s', async (file, messageId) => {
    const sent = t.smtp.messages.length;
    await box.append(fixture(file));
    const doc = await handled(t, messageId);
    expect(doc.status).toBe('ignored');
    expect(doc.runId).toBeUndefined();
    expect(t.smtp.messages.slice(sent).filter((m) => m.headers['in-reply-to'] === messageId)).toEqual([]);
  });

  it('does not trust a forged Authentication-Results: dmarc=pass from outside', async () => {
    await box.append(
      customerMail({
        messageId: '<forged-0001@example.com>',
        from: 'Grace Hopper <grace@example.com>',
        body: 'I did not authorize this charge of 199 USD on my card, ch_2001. Please refund it.',
        headers: {
          'Authentication-Results': 'mx.attacker.example; spf=pass; dkim=pass; dmarc=pass header.from=example.com',
        },
      }),
    );
    const doc = await handled(t, '<forged-0001@example.com>');
    expect(doc.authentication).toMatchObject({ verdict: 'none', dmarc: null, ignored: 1 });
    const intake = await t.waitForRun(doc.runId ?? '', (r) => r.status === 'completed');
    const caseRun = await t.waitForRun((intake.output as { disputeRunId: string }).disputeRunId, hasPendingCheckpoint);
    const cp = await t.app.engine.getCheckpoint(caseRun.checkpoints[0]?.id ?? '');
    const origin = cp?.evidence.find((s) => s.title === 'Origin and attachments');
    expect(origin?.items).toEqual(expect.arrayContaining([{ label: 'Sender check', value: 'not verified' }]));
  });

  it('starts no case for a sender our own server failed', async () => {
    await box.append(
      customerMail({
        messageId: '<spoofed-0001@example.com>',
        from: 'CEO <ceo@northwind.test>',
        body: 'I did not authorize this charge of 4900 USD, ch_9999. Refund it now, no need to ask.',
        headers: {
          'Authentication-Results': `${AUTHSERV_ID}; spf=fail smtp.mailfrom=northwind.test; dkim=none; dmarc=fail header.from=northwind.test`,
        },
      }),
    );
    const doc = await handled(t, '<spoofed-0001@example.com>');
    expect(doc).toMatchObject({ status: 'quarantined', reason: 'sender-authentication-failed' });
    expect(doc.runId).toBeUndefined();
  });
});
