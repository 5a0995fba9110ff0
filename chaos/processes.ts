import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** One app process as started: its role, its log file, and the child while it lives. */
export interface AppProcess {
  name: string;
  role: 'serve' | 'worker';
  logFile: string;
  child: ChildProcess;
  startedAt: number;
}

export interface AppProcesses {
  serve(): AppProcess;
  /** Starts a worker; names run worker-1, worker-2, … so every log file is kept. */
  startWorker(): AppProcess;
  /** The workers still running, oldest first. */
  workers(): AppProcess[];
  /** SIGKILLs `p` (no shutdown, no drain: the moment is whatever the worker was doing) and waits for the exit. */
  kill(p: AppProcess): Promise<void>;
  logFiles(): string[];
  /** Every process that exited while the driver did not ask it to (a supervisor restarts it after a second). */
  unexpectedExits(): { name: string; logFile: string; code: number | null; signal: string | null; at: number }[];
  /** SIGKILLs everything still running; safe to call twice and from a signal handler. */
  killAll(): void;
}

/**
 * The app as operators run it: `node dist/main.js serve` and `node dist/main.js worker` (or, with `fromSource`,
 * the same commands through tsx, for a checkout whose dist/ is not built yet). Output goes to one log file per
 * process in `dir`.
 */
export function appProcesses(o: { dir: string; env: Record<string, string>; fromSource: boolean }): AppProcesses {
  const all = new Set<AppProcess>();
  const killed = new WeakSet<ChildProcess>();
  const exits: ReturnType<AppProcesses['unexpectedExits']> = [];
  const logs: string[] = [];
  let workerCount = 0;
  let stopping = false;

  const start = (role: 'serve' | 'worker', name: string): AppProcess => {
    const logFile = join(o.dir, `${name}.log`);
    const out: WriteStream = createWriteStream(logFile, { flags: 'a' });
    const args = o.fromSource ? ['--import', 'tsx', 'main.ts', role] : ['dist/main.js', role];
    const child = spawn(process.execPath, args, { cwd: root, env: o.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.pipe(out, { end: false });
    child.stderr?.pipe(out, { end: false });
    const p: AppProcess = { name, role, logFile, child, startedAt: Date.now() };
    all.add(p);
    logs.push(logFile);
    child.once('exit', (code, signal) => {
      all.delete(p);
      if (!killed.has(child) && !stopping) {
        exits.push({ name, logFile, code, signal, at: Date.now() });
        // As systemd or Kubernetes would: a process that died on its own is started again.
        setTimeout(() => {
          if (stopping) return;
          if (role === 'serve') start('serve', `serve-${exits.length + 1}`);
          else start('worker', `worker-${++workerCount}`);
        }, 1_000).unref();
      }
      // Let the pipes drain what the process wrote last before the file closes.
      setTimeout(() => out.end(), 200).unref();
    });
    return p;
  };

  // A driver that dies (an uncaught error, a test runner's timeout) must not leave the app running on the machine.
  const onExit = () => {
    for (const p of all) p.child.kill('SIGKILL');
  };
  process.once('exit', onExit);

  return {
    serve: () => start('serve', 'serve'),
    startWorker() {
      workerCount++;
      return start('worker', `worker-${workerCount}`);
    },
    workers: () => [...all].filter((p) => p.role === 'worker').sort((a, b) => a.startedAt - b.startedAt),
    async kill(p) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) return;
      killed.add(p.child);
      const exited = once(p.child, 'exit');
      p.child.kill('SIGKILL');
      await exited;
    },
    logFiles: () => [...logs],
    unexpectedExits: () => [...exits],
    killAll() {
      stopping = true;
      process.removeListener('exit', onExit);
      for (const p of all) {
        killed.add(p.child);
        p.child.kill('SIGKILL');
      }
    },
  };
}
