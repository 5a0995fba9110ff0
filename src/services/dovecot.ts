import { spawn } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findFreePort, isPortOpen } from './net.js';
import { type Env, run, waitUntil, which } from './process.js';

/**
 * A private Dovecot IMAP server for tests and local development: its own config, state and maildirs under
 * `dir`, listening on 127.0.0.1 only, users in a passwd-file that Dovecot re-reads when it changes (so each test
 * file can add its own mailbox user). Debian's `dovecot-imapd` is installed with apt-get when missing, the way
 * the services script installs redis-server. Production never uses this: there IMAP_URL names a real server.
 */
export interface Dovecot {
  host: string;
  port: number;
  dir: string;
  usersFile: string;
  configFile: string;
  stop(): Promise<void>;
}

export interface DovecotOptions {
  dir: string;
  env: Env;
  log?: (line: string) => void;
  /** Preferred port; the next free one is taken when it is busy. */
  port?: number;
}

const DEFAULT_PORT = 14301;

async function ensureDovecotInstalled(env: Env, log: (line: string) => void = () => {}): Promise<string> {
  const found = which('dovecot', { ...env, PATH: `${env.PATH ?? ''}:/usr/sbin:/sbin` });
  if (found) return found;
  if (!which('apt-get', env))
    throw new Error('dovecot: not installed and apt-get is not available (install dovecot-imapd)');
  const prefix = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const apt = (args: string[]) => {
    const [cmd = 'apt-get', ...rest] = [...prefix, 'apt-get', ...args];
    return run(cmd, rest, { env: aptEnv, timeoutMs: 600_000 });
  };
  log('dovecot: installing dovecot-imapd with apt-get (once)…');
  let result = await apt(['install', '-y', '-q', 'dovecot-imapd']);
  if (result.code !== 0) {
    await apt(['update', '-q']); // a fresh image often has empty package lists
    result = await apt(['install', '-y', '-q', 'dovecot-imapd']);
  }
  const installed = which('dovecot', { ...env, PATH: `${env.PATH ?? ''}:/usr/sbin:/sbin` });
  if (result.code !== 0 || !installed) throw new Error(`dovecot: apt-get install failed: ${result.stderr.slice(-400)}`);
  return installed;
}

/** uid and gid of the `dovecot` system user: mail is accessed as it (Dovecot refuses root). */
function dovecotIds(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('dovecot:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (!uid || !gid) throw new Error('dovecot: the dovecot system user is missing (reinstall dovecot-core)');
  return { uid: Number(uid), gid: Number(gid) };
}

function config(dir: string, port: number, ids: { uid: number; gid: number }): string {
  return `base_dir = ${dir}/run
state_dir = ${dir}/run
instance_name = countersign-${port}
listen = 127.0.0.1
protocols = imap
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
first_valid_gid = 1
log_path = ${dir}/log/dovecot.log
mail_location = maildir:${dir}/mail/%u
mail_max_userip_connections = 200
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u ${dir}/users
}
userdb {
  driver = static
  args = uid=${ids.uid} gid=${ids.gid} home=${dir}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener imaps {
    port = 0
  }
}
`;
}

export async function startDovecot(opts: DovecotOptions): Promise<Dovecot> {
  const log = opts.log ?? (() => {});
  const binary = await ensureDovecotInstalled(opts.env, log);
  const doveadm = join(binary, '..', '..', 'bin', 'doveadm');
  const ids = dovecotIds();
  for (const sub of ['run', 'log', 'mail']) mkdirSync(join(opts.dir, sub), { recursive: true });
  // Mail processes run as the dovecot user and must reach the maildirs (mkdtemp makes 0700 folders).
  chmodSync(opts.dir, 0o755);
  const port = (await isPortOpen(opts.port ?? DEFAULT_PORT))
    ? await findFreePort((opts.port ?? DEFAULT_PORT) + 1)
    : (opts.port ?? DEFAULT_PORT);
  const configFile = join(opts.dir, 'dovecot.conf');
  const usersFile = join(opts.dir, 'users');
  writeFileSync(configFile, config(opts.dir, port, ids));
  if (!existsSync(usersFile)) writeFileSync(usersFile, '');
  await run('chown', ['-R', `${ids.uid}:${ids.gid}`, join(opts.dir, 'mail')], { env: opts.env });
  // Dovecot daemonizes, but its children inherit our stdio: detach them or a caller reading the pipe hangs.
  const child = spawn(binary, ['-c', configFile], { stdio: 'ignore', detached: true, env: opts.env });
  child.unref();
  if (!(await waitUntil(() => isPortOpen(port), 15_000, 100))) {
    const tail = existsSync(join(opts.dir, 'log/dovecot.log'))
      ? readFileSync(join(opts.dir, 'log/dovecot.log'), 'utf8')
      : '';
    throw new Error(`dovecot: did not listen on 127.0.0.1:${port}: ${tail.slice(-500)}`);
  }
  log(`dovecot: answering on 127.0.0.1:${port}`);
  const doveadmBin = existsSync(doveadm) ? doveadm : 'doveadm';
  return {
    host: '127.0.0.1',
    port,
    dir: opts.dir,
    usersFile,
    configFile,
    async stop() {
      await run(doveadmBin, ['-c', configFile, 'stop'], { env: opts.env, timeoutMs: 10_000 });
    },
  };
}

/** Adds a mailbox user; Dovecot re-reads the passwd-file on its next login. */
export function addDovecotUser(usersFile: string, user: string, password: string): void {
  if (!/^[a-z0-9._-]+$/i.test(user) || /[:\n]/.test(password)) throw new Error('dovecot: bad user name or password');
  appendFileSync(usersFile, `${user}:{PLAIN}${password}\n`);
}
