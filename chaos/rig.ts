import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import mongoose from 'mongoose';
import { seedSampleData } from '../agents/disputes/data.js';
import { addDovecotUser, startDovecot } from '../src/services/dovecot.js';

/** The parts of a chaos run around the app: the mailbox it reads, the store's sample data, its health. */

/** The line that names the error in a crashed process's log (a stack trace's first line, or the last log line). */
export function lastError(logFile: string): string {
  const lines = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.trim());
  return (lines.find((l) => /^\w*Error\b|^\w+Error:/.test(l)) ?? lines.at(-1) ?? '(empty log)').slice(0, 300);
}

export interface Mailbox {
  stop(): Promise<void>;
  url: string;
  append(raw: string): Promise<void>;
}

/** A Dovecot of the run's own, with the disputes mailbox user written before it starts. */
export async function startMailbox(dir: string): Promise<Mailbox> {
  mkdirSync(dir, { recursive: true });
  const user = 'disputes';
  const pass = 'chaos-mail-password';
  addDovecotUser(join(dir, 'users'), user, pass);
  const dovecot = await startDovecot({ dir, env: process.env, port: 14501 });
  // Dovecot daemonizes: if the driver dies before its finally, stop the master by its pid file on the way out.
  const stopOnExit = () => {
    try {
      process.kill(Number(readFileSync(join(dir, 'run', 'master.pid'), 'utf8').trim()), 'SIGTERM');
    } catch {
      // already gone
    }
  };
  process.once('exit', stopOnExit);
  const append = async (raw: string) => {
    const c = new ImapFlow({
      host: '127.0.0.1',
      port: dovecot.port,
      secure: false,
      auth: { user, pass },
      logger: false,
    });
    c.on('error', () => {});
    await c.connect();
    try {
      await c.append('INBOX', raw);
    } finally {
      await c.logout().catch(() => undefined);
    }
  };
  const stop = async () => {
    process.removeListener('exit', stopOnExit);
    await dovecot.stop();
  };
  return { stop, url: `imap://${user}:${pass}@127.0.0.1:${dovecot.port}`, append };
}

/** The sample accounts and charges the dispute agents look up, written directly (the app does this in demo mode). */
export async function seedStore(url: string): Promise<void> {
  const conn = mongoose.createConnection(url, { serverSelectionTimeoutMS: 30_000 });
  try {
    await conn.asPromise();
    await seedSampleData(conn);
  } finally {
    await conn.close();
  }
}

export interface HealthWatch {
  /** The last answer: true for 200, false for anything else, null before the first. */
  healthy(): boolean | null;
  /** The last answer's status and body (or the network error), for a start-up that never became healthy. */
  last(): string;
  stop(): void;
}

/** Polls /healthz twice a second; the answer is what load balancers see. */
export function watchHealth(baseUrl: string, signal?: AbortSignal): HealthWatch {
  let state: boolean | null = null;
  let last = 'no answer yet';
  let running = true;
  void (async () => {
    while (running && !signal?.aborted) {
      try {
        const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(5_000) });
        last = `${res.status} ${(await res.text()).slice(0, 300)}`;
        state = res.status === 200;
      } catch (err) {
        last = (err as Error).message;
        state = false;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  })();
  return {
    healthy: () => state,
    last: () => last,
    stop: () => {
      running = false;
    },
  };
}
