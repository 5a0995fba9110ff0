import type { Logger } from 'pino';

/**
 * Named crash points for the crash-recovery tests (TiKV/FoundationDB style). Enabled only through
 * COUNTERSIGN_FAILPOINTS in a worker process started by a test; with none set, `hit` does nothing.
 */
export interface Failpoints {
  hit(name: string): void;
}

export function createFailpoints(enabled: ReadonlySet<string>, logger: Logger): Failpoints {
  if (enabled.size === 0) return { hit() {} };
  return {
    hit(name) {
      if (!enabled.has(name)) return;
      logger.warn({ failpoint: name }, 'failpoint reached: killing this process');
      process.kill(process.pid, 'SIGKILL');
    },
  };
}

export const noFailpoints: Failpoints = { hit() {} };
