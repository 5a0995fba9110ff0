/** Progress lines for people: one per step, never a stack trace. */
export interface Reporter {
  step(message: string): void;
  ok(message: string): void;
  warn(message: string): void;
  fail(message: string): void;
}

/** `quiet` keeps warnings and failures only, for `services env` inside scripts. */
export function lineReporter(write: (line: string) => void, quiet = false): Reporter {
  return {
    step: (m) => {
      if (!quiet) write(`› ${m}`);
    },
    ok: (m) => {
      if (!quiet) write(`✓ ${m}`);
    },
    warn: (m) => write(`! ${m}`),
    fail: (m) => write(`✗ ${m}`),
  };
}

/** A failure the user can fix; `message` says what to install or set. */
export class ServicesError extends Error {
  override readonly name = 'ServicesError';
}

/** Hides a password in a URL before printing it. */
export function redactUrl(url: string): string {
  return url.replace(
    /^([a-z+]+:\/\/)([^@/]*):([^@/]*)@/i,
    (_m, scheme: string, user: string) => `${scheme}${user}:****@`,
  );
}

export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message.split('\n')[0] ?? err.name;
  return String(err);
}
