import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Real `countersign worker` processes started by one test file, so its `afterAll` can kill whatever is left. */
export interface WorkerProcesses {
  /** Starts a worker, as an operator would, with `COUNTERSIGN_FAILPOINTS` set to `failpoints` (none by default). */
  start(failpoints?: string): ChildProcess;
  /** SIGKILLs every worker still running: a failed test must not leave processes on a 2-core machine. */
  killAll(): void;
}

/**
 * `env` is read at each start, because the test app (and so its database, queue prefix and ports) only exists
 * after `beforeAll` ran. Its values are laid over this process's environment.
 */
export function workerProcesses(env: () => Record<string, string | undefined>): WorkerProcesses {
  const children = new Set<ChildProcess>();
  return {
    start(failpoints = '') {
      const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts', 'worker'], {
        cwd: root,
        env: { ...process.env, ...env(), COUNTERSIGN_FAILPOINTS: failpoints },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      children.add(child);
      child.once('exit', () => children.delete(child));
      return child;
    },
    killAll() {
      for (const c of children) c.kill('SIGKILL');
    },
  };
}

/** The signal that ended `child` (null if it exited by itself); waits for the exit if it has not happened yet. */
export async function killedBy(child: ChildProcess): Promise<string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.signalCode;
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  return signal;
}

/** Asks a worker to shut down as an operator would (SIGTERM) and waits until it has. */
export async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  await once(child, 'exit');
}
