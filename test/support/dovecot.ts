import { randomBytes } from 'node:crypto';
import { utimesSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import { inject } from 'vitest';
import { addDovecotUser } from '../../src/services/dovecot.js';
import { run } from '../../src/services/process.js';

/** A mailbox of its own on the run's Dovecot: a fresh user per call, so test files never see each other's mail. */
export interface TestMailbox {
  user: string;
  password: string;
  /** `imap://user:pass@127.0.0.1:port` for IMAP_URL. */
  url: string;
  /** Appends a raw message to a folder (INBOX by default), as a delivery would. */
  append(raw: string | Buffer, folder?: string): Promise<{ uid: number | undefined }>;
  /** UIDs and subjects currently in a folder. */
  list(folder: string): Promise<{ uid: number; subject: string }[]>;
  /** Drops every IMAP connection of this user on the server side (a network drop or server restart). */
  kick(): Promise<void>;
  /** Makes the server give the folder a new UIDVALIDITY, as a restored or recreated mailbox does. */
  resetUidValidity(folder: string, value: number): Promise<void>;
  client(): Promise<ImapFlow>;
}

export async function testMailbox(label = 'box'): Promise<TestMailbox> {
  const d = inject('dovecot');
  if (!d.port) throw new Error(`Dovecot is not available for email tests: ${d.error}`);
  const user = `${label.replace(/[^a-z0-9]/gi, '').toLowerCase()}${randomBytes(4).toString('hex')}`;
  const password = randomBytes(8).toString('hex');
  addDovecotUser(d.usersFile, user, password);
  const connect = async () => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: d.port,
      secure: false,
      auth: { user, pass: password },
      logger: false,
      disableAutoIdle: true,
    });
    await c.connect();
    return c;
  };
  await untilLoginWorks(connect, d.usersFile);
  const doveadm = (args: string[]) =>
    run('doveadm', ['-c', d.configFile, ...args], { env: process.env, timeoutMs: 10_000 });
  return {
    user,
    password,
    url: `imap://${user}:${password}@127.0.0.1:${d.port}`,
    async append(raw, folder = 'INBOX') {
      const c = await connect();
      try {
        if (folder !== 'INBOX') await c.mailboxCreate(folder).catch(() => undefined);
        const res = await c.append(folder, raw);
        return { uid: res ? res.uid : undefined };
      } finally {
        await c.logout();
      }
    },
    async list(folder) {
      const c = await connect();
      try {
        const box = await c.mailboxOpen(folder).catch(() => null);
        if (!box || box.exists === 0) return [];
        const out: { uid: number; subject: string }[] = [];
        for await (const m of c.fetch('1:*', { uid: true, envelope: true })) {
          out.push({ uid: m.uid, subject: m.envelope?.subject ?? '' });
        }
        return out;
      } finally {
        await c.logout();
      }
    },
    async kick() {
      const res = await doveadm(['kick', user]);
      if (res.code !== 0 && !/no users/i.test(res.stdout + res.stderr)) throw new Error(`doveadm kick: ${res.stderr}`);
    },
    async resetUidValidity(folder, value) {
      const res = await doveadm(['mailbox', 'update', '-u', user, '--uid-validity', String(value), folder]);
      if (res.code !== 0) throw new Error(`doveadm mailbox update: ${res.stderr}`);
    },
    client: connect,
  };
}

/**
 * Dovecot re-reads its passwd-file when the file's mtime changes, and mtimes have a coarse grain: two test files
 * adding users within one tick can leave the second unknown to Dovecot. Bump the mtime until a login works.
 */
async function untilLoginWorks(connect: () => Promise<ImapFlow>, usersFile: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (let bump = 1; ; bump++) {
    try {
      const c = await connect();
      await c.logout();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      const later = new Date(Date.now() + bump * 1_000);
      utimesSync(usersFile, later, later);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
