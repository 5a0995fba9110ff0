import { spawn } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export type Env = Record<string, string | undefined>;

/** The full path of an executable on PATH, or undefined. */
export function which(command: string, env: Env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion and captures its output; a missing program is exit code 127, not a throw. */
export function run(
  command: string,
  args: string[],
  opts: { cwd?: string; env?: Env; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    child.on('error', (err) => resolve({ code: 127, stdout, stderr: stderr + err.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
  });
}

/** Starts a long-lived server that outlives this process, its output appended to `logFile`. */
export function startDetached(command: string, args: string[], logFile: string, env: Env): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(command, args, { detached: true, stdio: ['ignore', fd, fd], env });
    child.on('error', () => {
      // reported by the caller, which sees the process is gone
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether a pid still belongs to the program we started: pids are reused, and `down` must never signal a
 * stranger. Where /proc is missing (macOS) the pid is trusted.
 */
export function isOurProcess(pid: number, program: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(program);
  } catch {
    return true;
  }
}

export async function stopProcess(pid: number, timeoutMs = 10_000): Promise<boolean> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return !isAlive(pid);
  }
  if (await waitUntil(() => !isAlive(pid), timeoutMs)) return true;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
  return waitUntil(() => !isAlive(pid), 2_000);
}

/** Polls `check` until it holds or time runs out. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** The last lines of a log, to show why a server would not start. */
export function tailOf(text: string, lines = 8): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function readTail(file: string, lines = 8): string {
  try {
    return tailOf(readFileSync(file, 'utf8'), lines);
  } catch {
    return '';
  }
}
