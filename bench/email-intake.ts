import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { pino } from 'pino';
import { startEmailIntake } from '../handlers/email/start.js';
import type { App } from '../src/app.js';
import { emailModels } from '../src/channels/email/store.js';
import { createThreadMail } from '../src/channels/email/thread-mail.js';
import type { Mailer } from '../src/channels/mailer.js';
import { addDovecotUser, startDovecot } from '../src/services/dovecot.js';
import { percentile } from './stats.js';

/**
 * Email intake figures for `npm run bench` (bench/run.ts decides where they go):
 * - latency: IMAP APPEND on a local Dovecot → the run exists (the reader's IDLE push, header fetch, claim, body
 *   download, parse, startRun), one message at a time;
 * - backlog: N messages appended while the reader is stopped, then the time until every one has started its run.
 * The reader here is the production one; run workers are not needed (a run is "started" once it is queued),
 * and replies go to a mailer that records nothing, so SMTP does not enter the figures.
 */
export interface EmailIntakeBench {
  latency: { samples: number; p50Ms: number; p99Ms: number };
  backlog: { messages: number; seconds: number; perSecond: number };
}

const quietMailer: Mailer = {
  messageIdFor: (effectKey) => `<${effectKey.length}@bench.invalid>`,
  async send(_mail, effectKey) {
    return { messageId: `<${effectKey.length}@bench.invalid>`, skipped: false };
  },
};

function message(i: number, tag: string): string {
  return [
    `From: Customer ${i} <customer${i}@example.com>`,
    'To: disputes@northwind.test',
    `Subject: Charged twice (${tag} ${i})`,
    `Message-ID: <${tag}-${i}-${randomBytes(4).toString('hex')}@bench.example>`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `I was charged twice, 49.00 EUR, ch_1002. Case ${i}.`,
    '',
  ].join('\r\n');
}

export async function benchEmailIntake(
  app: App,
  opts: { latencySamples?: number; backlog?: number } = {},
): Promise<EmailIntakeBench> {
  const dir = mkdtempSync(join(tmpdir(), 'countersign-bench-dovecot-'));
  const dovecot = await startDovecot({ dir, env: process.env, port: 14401 });
  const user = `bench${randomBytes(3).toString('hex')}`;
  const pass = randomBytes(8).toString('hex');
  addDovecotUser(dovecot.usersFile, user, pass);
  const imapUrl = `imap://${user}:${pass}@127.0.0.1:${dovecot.port}`;
  const email = emailModels(app.store.connection);
  const threadMail = createThreadMail({ mailer: quietMailer, email, effects: app.store.effects });
  const appender = new ImapFlow({
    host: '127.0.0.1',
    port: dovecot.port,
    secure: false,
    auth: { user, pass },
    logger: false,
  });
  // The appender idles while the backlog drains; its timeout must not take the bench down.
  appender.on('error', () => {});
  await appender.connect();
  const done = new Map<number, number>();
  let waiter: (() => void) | null = null;
  const start = () =>
    startEmailIntake({
      imapUrl,
      mailbox: 'INBOX',
      authservId: undefined,
      ownAddresses: [],
      engine: app.engine,
      email,
      threadMail,
      logger: pino({ level: process.env.BENCH_LOG ?? 'silent' }),
      routes: app.emailRoutes,
      // Every message in the bench comes from its own sender; the per-sender cap is not what is measured.
      onMessage: (uid) => {
        done.set(uid, performance.now());
        waiter?.();
      },
    });
  const until = (pred: () => boolean) =>
    new Promise<void>((resolve) => {
      const check = () => (pred() ? resolve() : undefined);
      waiter = check;
      check();
    });
  try {
    let reader = start();
    await reader.ready;
    const latencies: number[] = [];
    for (let i = 0; i < (opts.latencySamples ?? 50); i++) {
      const t0 = performance.now();
      const res = await appender.append('INBOX', message(i, 'latency'));
      const uid = res ? res.uid : undefined;
      if (uid === undefined) throw new Error('the server did not report the appended UID (UIDPLUS)');
      await until(() => done.has(uid));
      latencies.push((done.get(uid) ?? t0) - t0);
    }
    await reader.stop();
    const n = opts.backlog ?? 1_000;
    const uids: number[] = [];
    for (let i = 0; i < n; i++) {
      const res = await appender.append('INBOX', message(i, 'backlog'));
      if (res && res.uid !== undefined) uids.push(res.uid);
    }
    const t0 = performance.now();
    reader = start();
    await until(() => uids.every((u) => done.has(u)));
    const seconds = (performance.now() - t0) / 1000;
    await reader.stop();
    return {
      latency: { samples: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) },
      backlog: { messages: n, seconds, perSecond: n / seconds },
    };
  } finally {
    await appender.logout().catch(() => undefined);
    await dovecot.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
