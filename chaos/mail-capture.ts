import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** What the checks need of a mail: which effect sent it, its Message-ID, and its text for approval links. */
export interface CapturedMail {
  messageId: string | undefined;
  /** The `X-Countersign-Effect` header: `customer-reply`, `email-receipt`, approver notifications, … */
  effect: string | undefined;
  text: string;
  html: string | undefined;
}

export interface MailCapture {
  url: string;
  messages: CapturedMail[];
  close(): Promise<void>;
}

/**
 * An SMTP server that keeps every message. Unlike the tests' capture it expects its clients to die mid-message
 * (a worker SIGKILLed while sending): a reset connection is counted, not thrown.
 */
export async function startMailCapture(): Promise<MailCapture> {
  const messages: CapturedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 1_000,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', (err) => callback(err));
      stream.on('end', () => {
        simpleParser(Buffer.concat(chunks))
          .then((parsed) => {
            const effect = parsed.headers.get('x-countersign-effect');
            messages.push({
              messageId: parsed.messageId,
              effect: typeof effect === 'string' ? effect : undefined,
              text: parsed.text ?? '',
              html: parsed.html === false ? undefined : parsed.html,
            });
            callback();
          })
          .catch((err: unknown) => callback(err instanceof Error ? err : new Error(String(err))));
      });
    },
  });
  // A client killed mid-conversation resets its connection; that is the point of the exercise, not a failure.
  server.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
