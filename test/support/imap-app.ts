import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { emailModels } from '../../src/channels/email/store.js';
import { startTestApp, type TestApp } from './app.js';
import type { TestMailbox } from './dovecot.js';
import type { SmtpCapture } from './smtp-capture.js';

export const AUTHSERV_ID = 'mx.northwind.test';

/** The test app reading `mailbox` over IMAP, with our receiving server's authserv-id configured. */
export function startEmailApp(
  label: string,
  mailbox: TestMailbox,
  env: Record<string, string> = {},
  smtp?: SmtpCapture,
): Promise<TestApp> {
  return startTestApp({
    label,
    ...(smtp ? { smtp } : {}),
    env: {
      IMAP_URL: mailbox.url,
      IMAP_AUTHSERV_ID: AUTHSERV_ID,
      MAIL_FROM: 'Northwind Disputes <disputes@northwind.test>',
      ...env,
    },
  });
}

export function fixture(name: string): string {
  return readFileSync(join(import.meta.dirname, '..', 'fixtures', 'mime', name), 'latin1');
}

/** A plain customer email; headers override or add. */
export function customerMail(opts: {
  from?: string;
  subject?: string;
  messageId: string;
  body: string;
  headers?: Record<string, string>;
}): string {
  const headers: Record<string, string> = {
    From: opts.from ?? 'Ada Lovelace <ada@example.com>',
    To: 'disputes@northwind.test',
    Subject: opts.subject ?? 'A charge on my card',
    'Message-ID': opts.messageId,
    Date: new Date().toUTCString(),
    'MIME-Version': '1.0',
    'Content-Type': 'text/plain; charset=utf-8',
    ...opts.headers,
  };
  return `${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\r\n')}\r\n\r\n${opts.body.replace(/\r?\n/g, '\r\n')}\r\n`;
}

async function messageDoc(t: TestApp, messageId: string) {
  const email = emailModels(t.app.store.connection);
  return email.messages.findOne({ messageId }).lean();
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A message handled by the reader (done, ignored or quarantined). */
export function handled(t: TestApp, messageId: string) {
  return waitFor(`${messageId} to be handled`, async () => {
    const doc = await messageDoc(t, messageId);
    return doc && doc.status !== 'processing' ? doc : null;
  });
}

export async function runsOf(t: TestApp, workflow: string) {
  return t.app.store.runs.find({ workflow }).lean();
}
