import type { AddressInfo } from 'node:net';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

export interface CaughtMail {
  messageId: string | undefined;
  from: string;
  to: string;
  subject: string;
  text: string;
}

/**
 * The demo's local mail catcher: an SMTP server that keeps what it receives in memory and hands each message
 * to `onMail`, so a newcomer sees the approver's and the customer's emails without a mail account.
 */
export async function startMailCatcher(opts: { port: number; onMail(mail: CaughtMail): void }) {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    banner: 'Countersign demo mail catcher',
    size: 10 * 1024 * 1024,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((parsed: ParsedMail) => {
          opts.onMail({
            messageId: parsed.messageId,
            from: parsed.from?.text ?? '',
            to: Array.isArray(parsed.to) ? parsed.to.map((a) => a.text).join(', ') : (parsed.to?.text ?? ''),
            subject: parsed.subject ?? '',
            text: parsed.text ?? '',
          });
          callback();
        })
        .catch((err: Error) => callback(err));
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
