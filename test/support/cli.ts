import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** What one `countersign` command left behind: its exit code and everything it printed. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `countersign <args>` as an operator runs it, with exactly the environment given (plus PATH): nothing from the
 * test process leaks in, so a test sees the same errors an operator with that environment would.
 */
export async function countersign(
  args: string[],
  env: Record<string, string>,
  options: { entry?: string } = {},
): Promise<CliResult> {
  // `entry`: another composition root (a test's own module list) calling the same `main`.
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? 'main.ts', ...args], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString('utf8');
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString('utf8');
  });
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr };
}
