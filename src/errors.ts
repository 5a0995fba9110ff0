/**
 * The small set of error classes that cross module boundaries. Each maps to one HTTP status
 * (src/http/errors.ts) and one user-facing message; nothing else reaches a user.
 */
export abstract class CountersignError extends Error {
  abstract readonly code: string;
  override readonly name: string = this.constructor.name;
}

export class InvalidInput extends CountersignError {
  readonly code = 'invalid_input';
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export class InvalidSignature extends CountersignError {
  readonly code = 'invalid_signature';
}

export class NotAuthorized extends CountersignError {
  readonly code = 'not_authorized';
}

export class NotFound extends CountersignError {
  readonly code = 'not_found';
}

export interface DecisionSummary {
  decision: string;
  actor: string;
  channel: string;
  decidedAt: Date;
}

export class AlreadyDecided extends CountersignError {
  readonly code = 'already_decided';
  constructor(
    readonly status: string,
    readonly decided: DecisionSummary | undefined,
  ) {
    super(
      decided
        ? `already ${decided.decision === 'approve' ? 'approved' : 'rejected'} by ${decided.actor} via ${decided.channel} at ${decided.decidedAt.toISOString()}`
        : `checkpoint is ${status}`,
    );
  }
}

/** The checkpoint changed after the person reviewed it (DecisionRequest.expectedVersion): nothing was written. */
export class StaleCheckpoint extends CountersignError {
  readonly code = 'stale_checkpoint';
  constructor(
    readonly expected: number,
    readonly current: number,
  ) {
    super(`the checkpoint changed since it was reviewed (version ${expected}, now ${current}); review it again`);
  }
}

/** A failure worth retrying (network, 429, 5xx). `retryAfterMs` when the other side said how long to wait. */
export class Retryable extends CountersignError {
  readonly code = 'retryable';
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** A step failure that retrying cannot fix (bad model output after repair, refused input). */
export class NonRetryable extends CountersignError {
  readonly code = 'non_retryable';
}

/** zod issues as `{ path, message }` pairs for API responses and modals. */
export function issuesOf(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }) {
  return error.issues.map((i) => ({ path: i.path.map(String).join('.') || '(root)', message: i.message }));
}
