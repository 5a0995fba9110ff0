import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { messagePage } from '../../templates/layout.js';
import type { DependencyHealth } from '../dependency-health.js';
import {
  AlreadyDecided,
  CountersignError,
  InvalidInput,
  InvalidSignature,
  NotAuthorized,
  NotFound,
  Retryable,
  StaleCheckpoint,
} from '../errors.js';
import { type Dependency, infrastructureFault } from '../infra-errors.js';
import { sendPage } from './pages.js';

/**
 * A refusal that belongs to HTTP itself (missing bearer token, wrong content type, webhooks not configured),
 * as opposed to the domain errors of src/errors.ts. Both are turned into responses by `responseOf` only.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** How long a client is asked to wait during an outage; the monitor probes every second, so a few suffice. */
const OUTAGE_RETRY_AFTER_SECONDS = 5;

function unavailable(dependency: Dependency): ErrorResponse {
  return {
    status: 503,
    body: { error: 'unavailable', message: `${dependency} is unreachable; try again shortly`, dependency },
    headers: { 'Retry-After': String(OUTAGE_RETRY_AFTER_SECONDS) },
  };
}

export interface ErrorResponse {
  status: number;
  body: { error: string; message: string } & Record<string, unknown>;
  headers: Record<string, string>;
}

/** body-parser signals its refusals with `type` and `status` on a plain error. */
function bodyParserProblem(err: unknown): HttpProblem | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { type, status } = err as { type?: unknown; status?: unknown };
  switch (type) {
    case 'entity.too.large':
      return new HttpProblem(413, 'payload_too_large', 'request body is too large');
    case 'entity.parse.failed':
      return new HttpProblem(400, 'invalid_json', 'request body is not valid JSON');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new HttpProblem(415, 'unsupported_media_type', 'unsupported content encoding or charset');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'parameters.too.many':
      return new HttpProblem(400, 'bad_request', 'request body could not be read');
  }
  if (typeof type === 'string' && typeof status === 'number' && status >= 400 && status < 500) {
    return new HttpProblem(status, 'bad_request', 'request could not be read');
  }
  return undefined;
}

/**
 * The one place where errors become HTTP statuses. Anything unrecognised is a 500 with no details; an outage
 * (the store or Redis unreachable, however deep the driver's error is wrapped) is a 503 the client may retry.
 */
function responseOf(err: unknown, requestId: string): ErrorResponse {
  const problem = err instanceof HttpProblem ? err : bodyParserProblem(err);
  if (problem) {
    return {
      status: problem.status,
      body: { error: problem.code, message: problem.message },
      headers: problem.headers,
    };
  }
  const fault = infrastructureFault(err);
  if (fault) return unavailable(fault.dependency);
  if (err instanceof CountersignError) {
    const base = { error: err.code, message: err.message };
    if (err instanceof InvalidInput) return { status: 400, body: { ...base, issues: err.issues }, headers: {} };
    if (err instanceof InvalidSignature) return { status: 401, body: base, headers: {} };
    if (err instanceof NotAuthorized) return { status: 403, body: base, headers: {} };
    if (err instanceof NotFound) return { status: 404, body: base, headers: {} };
    if (err instanceof AlreadyDecided) {
      const d = err.decided;
      return {
        status: 409,
        body: {
          ...base,
          status: err.status,
          decidedBy: d?.actor ?? null,
          decision: d?.decision ?? null,
          decidedAt: d ? new Date(d.decidedAt).toISOString() : null,
          channel: d?.channel ?? null,
        },
        headers: {},
      };
    }
    if (err instanceof StaleCheckpoint) {
      return { status: 409, body: { ...base, expectedVersion: err.expected, version: err.current }, headers: {} };
    }
    if (err instanceof Retryable) {
      const headers: Record<string, string> =
        err.retryAfterMs !== undefined ? { 'Retry-After': String(Math.ceil(err.retryAfterMs / 1000)) } : {};
      return { status: 503, body: { error: 'unavailable', message: 'temporarily unavailable, try again' }, headers };
    }
  }
  return { status: 500, body: { error: 'internal', message: 'internal error', requestId }, headers: {} };
}

/** People open approval pages and the dashboard in a browser; they get a page, scripts get JSON. */
function wantsHtml(req: Request): boolean {
  if (req.path.startsWith('/approvals/') || req.path === '/') return true;
  return req.accepts(['json', 'html']) === 'html';
}

/** Writes `out` as a page for browsers and as JSON for everyone else. */
function sendError(req: Request, res: Response, out: ErrorResponse): void {
  const requestId = res.locals.requestId ?? '';
  res.set(out.headers);
  if (wantsHtml(req)) {
    const title = out.status >= 500 ? 'Something went wrong' : 'This request could not be completed';
    const lines = [out.body.message];
    if (out.status >= 500) lines.push(`Please try again later. Reference: ${requestId}`);
    sendPage(res, out.status, messagePage({ title, lines }));
    return;
  }
  res.status(out.status).json(out.body);
}

/** The 503 of a request refused because `dependency` is known to be down. */
export function sendUnavailable(req: Request, res: Response, dependency: Dependency): void {
  sendError(req, res, unavailable(dependency));
}

/**
 * Every error ends here; an outage is also told to the monitor, so the next requests are refused at once. An
 * error nobody recognised is checked against the dependencies before it becomes a 500: drivers do not always say
 * that a socket closed under them (the MongoDB driver lets a bare EPIPE through), and during an outage a client
 * must be told to retry, never that the request failed.
 */
export function errorHandler(health?: Pick<DependencyHealth, 'report' | 'verify'>): ErrorRequestHandler {
  return async (err, req, res, next) => {
    if (res.headersSent) return next(err);
    let out = responseOf(err, res.locals.requestId ?? '');
    const fault = infrastructureFault(err);
    if (fault) {
      health?.report(err);
      res.locals.log?.warn({ dependency: fault.dependency, err: fault.message }, 'request met an outage');
    } else if (out.status === 500) {
      const down = await health?.verify().catch(() => undefined);
      if (down) {
        out = unavailable(down);
        res.locals.log?.warn({ dependency: down, err }, 'request failed while a dependency does not answer');
      } else res.locals.log?.error({ err }, 'request failed');
    } else if (out.status < 500) res.locals.log?.debug({ status: out.status, code: out.body.error }, 'request refused');
    if (res.headersSent) return next(err);
    sendError(req, res, out);
  };
}

export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(new HttpProblem(404, 'not_found', 'no such route'));
};
