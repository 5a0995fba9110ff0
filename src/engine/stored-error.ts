import { CountersignError } from '../errors.js';
import type { StoredError } from '../store/models.js';

/** What of an error is kept on a run or step: message and code, never a stack or a secret-bearing cause. */
export function errorOf(err: unknown, at: Date): StoredError {
  if (err instanceof CountersignError) return { message: err.message, code: err.code, at };
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return { message: err.message.slice(0, 2_000), code: typeof code === 'string' ? code : 'error', at };
  }
  return { message: String(err).slice(0, 2_000), code: 'error', at };
}
