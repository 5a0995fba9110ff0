import { ImapFlow } from 'imapflow';
import type { Logger } from 'pino';
import { readCursor, saveCursor } from '../../src/channels/email/intake-records.js';
import type { EmailStore } from '../../src/channels/email/store.js';
import { type Disposition, type FetchedMessage, type ProcessDeps, processMessage } from './process.js';

/**
 * The mailbox reader: one IMAP connection that waits with IDLE (or polls where the server has no IDLE), drains
 * every message above a persisted (UIDVALIDITY, UID) cursor, and moves each one to the processed or quarantine
 * folder. Connection loss is normal: it reconnects with exponential backoff and resumes from the cursor.
 */
export interface ImapTarget {
  host: string;
  port: number;
  secure: boolean;
  user: string;
  pass: string;
  mailbox: string;
}

export interface ReaderOptions {
  target: ImapTarget;
  email: EmailStore;
  process: Omit<ProcessDeps, 'logger'>;
  logger: Logger;
  folders?: { processed: string; quarantine: string };
  /** Safety-net poll even with IDLE; the only wake-up without it (default 30 s, 5 s without IDLE). */
  pollMs?: number;
  backoff?: { minMs: number; maxMs: number };
  /** Messages fetched per round, so a 10,000-message backlog never sits in memory at once. */
  batch?: number;
  /** Called after each message, for tests and the bench. */
  onMessage?(uid: number, disposition: Disposition): void;
}

export interface MailboxReader {
  /** Resolves after the first successful drain (or rejects when stopped first). */
  ready: Promise<void>;
  /** Wake up and drain now (tests; IDLE does this by itself). */
  poke(): void;
  stop(): Promise<void>;
}

export function parseImapUrl(url: string, mailbox: string): ImapTarget {
  const u = new URL(url);
  const secure = u.protocol === 'imaps:';
  return {
    host: u.hostname,
    port: Number(u.port || (secure ? 993 : 143)),
    secure,
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
    mailbox,
  };
}

// RFC 2177: re-issue IDLE well within 29 minutes or the server may log us out.
const MAX_IDLE_MS = 25 * 60_000;

export function startMailboxReader(opts: ReaderOptions): MailboxReader {
  const { target, logger } = opts;
  const folders = opts.folders ?? { processed: 'Countersign-Processed', quarantine: 'Countersign-Quarantine' };
  const backoff = opts.backoff ?? { minMs: 500, maxMs: 60_000 };
  const batch = opts.batch ?? 200;
  const account = `${target.user}@${target.host}:${target.port}`;
  const cursorId = `${account}|${target.mailbox}`;
  const log = logger.child({ component: 'imap', mailbox: target.mailbox });
  let stopped = false;
  // Held in an object: the connection is replaced from inside async code that TypeScript cannot follow.
  const conn: { client: ImapFlow | null } = { client: null };
  let wake: (() => void) | null = null;
  let pending = true;
  let resolveReady: () => void = () => {};
  let rejectReady: (e: Error) => void = () => {};
  const ready = new Promise<void>((res, rej) => {
    resolveReady = res;
    rejectReady = rej;
  });
  ready.catch(() => {});

  const poke = () => {
    pending = true;
    wake?.();
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        wake = null;
        resolve();
      }
      wake = done;
    });

  async function drain(c: ImapFlow): Promise<void> {
    const box = c.mailbox;
    if (!box) throw new Error('no mailbox selected');
    const uidValidity = box.uidValidity.toString();
    const cursor = await readCursor(opts.email, cursorId);
    // A new UIDVALIDITY invalidates every UID we knew: start from the bottom. What was processed before is
    // recognised by its Message-ID claim, so nothing is replayed.
    let lastUid = cursor && cursor.uidValidity === uidValidity ? cursor.lastUid : 0;
    if (cursor && cursor.uidValidity !== uidValidity) log.warn({ uidValidity }, 'UIDVALIDITY changed; resyncing');
    for (;;) {
      if (stopped) return;
      const fetched: Omit<FetchedMessage, 'download'>[] = [];
      for await (const m of c.fetch(
        `${lastUid + 1}:*`,
        { uid: true, size: true, bodyStructure: true, headers: true },
        { uid: true },
      )) {
        // `N:*` returns the highest message even when its UID is below N.
        if (m.uid <= lastUid || fetched.length >= batch) continue;
        fetched.push({
          account,
          mailbox: target.mailbox,
          uidValidity,
          uid: m.uid,
          size: m.size,
          bodyStructure: m.bodyStructure,
          headers: m.headers ?? Buffer.alloc(0),
        });
      }
      if (fetched.length === 0) break;
      const moves: Record<'processed' | 'quarantined', number[]> = { processed: [], quarantined: [] };
      let blocked = false;
      for (const f of fetched) {
        const download = async () => {
          const full = await c.fetchOne(String(f.uid), { source: true }, { uid: true });
          if (full === false || full.source === undefined) throw new Error(`message ${f.uid} vanished`);
          return full.source;
        };
        const disposition = await processMessage({ ...opts.process, logger: log }, { ...f, download });
        opts.onMessage?.(f.uid, disposition);
        if (disposition === 'busy') {
          blocked = true; // another reader holds it; the cursor must not pass it
          break;
        }
        moves[disposition].push(f.uid);
        lastUid = f.uid;
      }
      for (const [kind, uids] of Object.entries(moves) as ['processed' | 'quarantined', number[]][]) {
        if (uids.length === 0) continue;
        const dest = kind === 'processed' ? folders.processed : folders.quarantine;
        await c.messageMove(uids, dest, { uid: true });
      }
      await saveCursor(opts.email, cursorId, { uidValidity, lastUid }, new Date());
      if (blocked) break;
    }
  }

  async function session(): Promise<void> {
    const c = new ImapFlow({
      host: target.host,
      port: target.port,
      secure: target.secure,
      auth: { user: target.user, pass: target.pass },
      logger: false,
      maxIdleTime: MAX_IDLE_MS,
      // IDLE (and with it the push of new mail) starts this long after the last command; the default is 15 s.
      autoIdleDelay: 200,
      missingIdleCommand: 'NOOP',
      socketTimeout: 5 * 60_000,
    });
    conn.client = c;
    c.on('error', (err: Error) => log.warn({ err: err.message }, 'imap connection error'));
    c.on('exists', () => poke());
    const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
    c.once('close', () => wake?.());
    await c.connect();
    for (const f of [folders.processed, folders.quarantine]) {
      await c.mailboxCreate(f).catch(() => undefined); // exists already
    }
    await c.mailboxOpen(target.mailbox);
    const idle = c.capabilities.has('IDLE');
    const pollMs = opts.pollMs ?? (idle ? 30_000 : 5_000);
    log.info({ idle }, 'imap connected');
    let first = true;
    while (!stopped && c.usable) {
      if (pending || first) {
        pending = false;
        await drain(c);
        if (first) {
          first = false;
          resolveReady();
        }
        continue;
      }
      await Promise.race([sleep(pollMs), closed]);
      pending = true;
    }
  }

  const loop = (async () => {
    let delay = backoff.minMs;
    while (!stopped) {
      const started = Date.now();
      try {
        await session();
      } catch (err) {
        if (!stopped) log.warn({ err: (err as Error).message }, 'imap session ended');
      }
      await conn.client?.logout().catch(() => conn.client?.close());
      conn.client = null;
      if (stopped) break;
      // A session that lived a while was healthy: start the backoff over.
      if (Date.now() - started > 30_000) delay = backoff.minMs;
      await sleep(delay + Math.floor(Math.random() * delay * 0.2));
      delay = Math.min(backoff.maxMs, delay * 2);
    }
  })();

  return {
    ready,
    poke,
    async stop() {
      stopped = true;
      rejectReady(new Error('reader stopped'));
      wake?.();
      await conn.client?.logout().catch(() => conn.client?.close());
      await loop;
    },
  };
}
