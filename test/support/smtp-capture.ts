import type { AddressInfo } from 'node:net';
import { type AddressObject, type EmailAddress, type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

/** One message as the capture server received it: the SMTP envelope, the parsed message and the raw bytes. */
export interface CapturedMail {
  envelope: { from: string | null; to: string[] };
  messageId: string | undefined;
  subject: string;
  /** Address of the first From. */
  from: string;
  to: string[];
  cc: string[];
  text: string;
  html: string | undefined;
  /** Lower-case header name → unfolded value; repeated headers joined by newlines. */
  headers: Record<string, string>;
  attachments: { filename: string | undefined; contentType: string; size: number; content: Buffer }[];
  raw: string;
  receivedAt: Date;
}

export interface SmtpCapture {
  /** `smtp://127.0.0.1:<port>`, ready for SMTP_URL or nodemailer. */
  url: string;
  port: number;
  messages: CapturedMail[];
  /** Resolves with the first message (already received or yet to come) matching `pred`. */
  waitFor(pred: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail>;
  clear(): void;
  close(): Promise<void>;
}

export interface SmtpCaptureOptions {
  /** Runs before the message is recorded and answered; throwing makes the server refuse (and not record) it. */
  onMessage?(m: CapturedMail): void | Promise<void>;
}

interface Waiter {
  pred: (m: CapturedMail) => boolean;
  resolve: (m: CapturedMail) => void;
}

/**
 * A local SMTP server that accepts everything (any or no login, plain text, no STARTTLS) and keeps every
 * message it receives, for tests of what Countersign sends.
 */
export async function startSmtpCapture(opts: SmtpCaptureOptions = {}): Promise<SmtpCapture> {
  const messages: CapturedMail[] = [];
  let waiters: Waiter[] = [];

  const server = new SMTPServer({
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw)
          .then(async (parsed) => {
            const mail = toCaptured(parsed, raw, session.envelope.mailFrom, session.envelope.rcptTo);
            await opts.onMessage?.(mail);
            messages.push(mail);
            waiters = waiters.filter((w) => {
              if (!w.pred(mail)) return true;
              w.resolve(mail);
              return false;
            });
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      });
    },
  });

  // A client that dies mid-message (a worker SIGKILLed while sending) resets its connection; that is no failure of ours.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    messages,
    waitFor(pred, timeoutMs = 45_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const waiter: Waiter = {
          pred,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        };
        const timer = setTimeout(() => {
          waiters = waiters.filter((w) => w !== waiter);
          const seen = messages.map((m) => `"${m.subject}" to ${m.to.join(', ')}`).join('; ') || 'none';
          reject(new Error(`no matching mail within ${timeoutMs} ms; received: ${seen}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    clear() {
      messages.length = 0;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function toCaptured(
  parsed: ParsedMail,
  raw: Buffer,
  mailFrom: SMTPServerAddress | false,
  rcptTo: SMTPServerAddress[],
): CapturedMail {
  const headers: Record<string, string> = {};
  for (const { key, line } of parsed.headerLines) {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    headers[key] = headers[key] === undefined ? value : `${headers[key]}\n${value}`;
  }
  return {
    envelope: { from: mailFrom ? mailFrom.address : null, to: rcptTo.map((r) => r.address) },
    messageId: parsed.messageId,
    subject: parsed.subject ?? '',
    from: addresses(parsed.from)[0] ?? '',
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    text: parsed.text ?? '',
    html: parsed.html === false ? undefined : parsed.html,
    headers,
    attachments: parsed.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      size: a.size,
      content: a.content,
    })),
    raw: raw.toString('utf8'),
    receivedAt: new Date(),
  };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (!field) return [];
  const flat = (list: EmailAddress[]): string[] =>
    list.flatMap((a) => (a.group ? flat(a.group) : a.address ? [a.address] : []));
  return (Array.isArray(field) ? field : [field]).flatMap((o) => flat(o.value));
}
