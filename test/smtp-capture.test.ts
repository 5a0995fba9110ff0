import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

describe('smtp capture', () => {
  let capture: SmtpCapture | undefined;
  afterEach(async () => {
    await capture?.close();
    capture = undefined;
  });

  const send = (url: string, mail: SendMailOptions) => nodemailer.createTransport(url).sendMail(mail);

  it('records envelope, headers, bodies and attachments of a message sent with nodemailer', async () => {
    capture = await startSmtpCapture();
    const info = await send(capture.url, {
      from: 'Countersign <disputes@countersign.local>',
      to: 'Ada <ada@example.com>',
      cc: 'ops@example.com',
      bcc: 'audit@example.com',
      subject: 'Dispute ch_123: please decide',
      text: 'Plain body',
      html: '<p>HTML body</p>',
      headers: { 'X-Countersign-Checkpoint': 'cp_1' },
      attachments: [{ filename: 'receipt.txt', content: 'paid' }],
    });

    const mail = await capture.waitFor((m) => m.subject.startsWith('Dispute ch_123'));
    expect(mail.messageId).toBe(info.messageId);
    expect(mail.envelope).toEqual({
      from: 'disputes@countersign.local',
      to: ['ada@example.com', 'ops@example.com', 'audit@example.com'],
    });
    expect(mail.from).toBe('disputes@countersign.local');
    expect(mail.to).toEqual(['ada@example.com']);
    expect(mail.cc).toEqual(['ops@example.com']);
    expect(mail.text.trim()).toBe('Plain body');
    expect(mail.html).toBe('<p>HTML body</p>');
    expect(mail.headers['x-countersign-checkpoint']).toBe('cp_1');
    expect(mail.attachments).toMatchObject([{ filename: 'receipt.txt', size: 4 }]);
    expect(mail.raw).toContain('Subject: Dispute ch_123');
  });

  it('resolves waitFor when a matching message arrives later', async () => {
    capture = await startSmtpCapture();
    const waiting = capture.waitFor((m) => m.to.includes('late@example.com'), 5_000);
    await send(capture.url, { from: 'a@example.com', to: 'early@example.com', subject: 'first', text: '1' });
    await send(capture.url, { from: 'a@example.com', to: 'late@example.com', subject: 'second', text: '2' });
    await expect(waiting).resolves.toMatchObject({ subject: 'second' });
    expect(capture.messages.map((m) => m.subject)).toEqual(['first', 'second']);
  });

  it('rejects waitFor with what it did receive when nothing matches in time', async () => {
    capture = await startSmtpCapture();
    await send(capture.url, { from: 'a@example.com', to: 'b@example.com', subject: 'other', text: 'x' });
    await expect(capture.waitFor((m) => m.subject === 'never', 200)).rejects.toThrow(/"other" to b@example.com/);
  });

  it('accepts any login', async () => {
    capture = await startSmtpCapture();
    const url = capture.url.replace('smtp://', 'smtp://user:secret@');
    await send(url, { from: 'a@example.com', to: 'b@example.com', subject: 'with auth', text: 'x' });
    await expect(capture.waitFor((m) => m.subject === 'with auth')).resolves.toBeDefined();
  });

  it('refuses a message when onMessage throws, and does not record it', async () => {
    capture = await startSmtpCapture({
      onMessage(m) {
        if (m.subject === 'bounce me') throw new Error('mailbox unavailable');
      },
    });
    await expect(
      send(capture.url, { from: 'a@example.com', to: 'b@example.com', subject: 'bounce me', text: 'x' }),
    ).rejects.toThrow(/mailbox unavailable/);
    expect(capture.messages).toHaveLength(0);
  });

  it('forgets what it received on clear', async () => {
    capture = await startSmtpCapture();
    await send(capture.url, { from: 'a@example.com', to: 'b@example.com', subject: 'one', text: 'x' });
    capture.clear();
    expect(capture.messages).toEqual([]);
  });
});
