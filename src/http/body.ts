import express, { type RequestHandler } from 'express';
import { HttpProblem } from './errors.js';

/** Limits per kind of body; a route opts into the one it needs, nothing is parsed globally. */
const LIMITS = { webhook: '1mb', json: '100kb', form: '64kb' } as const;

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Refuses a body that is not JSON before reading it. Requests without a body pass: the schema of the route
 * then says what is missing.
 */
export const requireJson: RequestHandler = (req, _res, next) => {
  if (req.is(JSON_TYPES) === false) {
    next(new HttpProblem(415, 'unsupported_media_type', 'expected Content-Type: application/json'));
    return;
  }
  next();
};

/**
 * The exact bytes, for signature checks. No inflation: the signature covers what was sent, and a compressed
 * body could expand far past the limit.
 */
export const rawBody = express.raw({ type: () => true, limit: LIMITS.webhook, inflate: false });

export const jsonBody = express.json({ type: JSON_TYPES, limit: LIMITS.json, strict: true });

export const formBody = express.urlencoded({
  type: 'application/x-www-form-urlencoded',
  extended: false,
  limit: LIMITS.form,
  parameterLimit: 200,
});

/** The raw body read by `rawBody`, or empty when there was none. */
export function bytesOf(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.alloc(0);
}
