import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { HttpProblem } from './errors.js';

const BEARER = /^Bearer\s+([\x21-\x7e]{1,1000})\s*$/i;

/**
 * Both sides are hashed before comparing so the comparison takes the same time whatever the lengths are;
 * timingSafeEqual alone would refuse unequal lengths early and reveal the token's length.
 */
function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Bearer COUNTERSIGN_API_TOKEN for `/api/*`; anything else is 401 with a challenge. */
export function requireBearer(apiToken: string): RequestHandler {
  return (req, _res, next) => {
    const token = BEARER.exec(req.get('authorization') ?? '')?.[1];
    if (token === undefined || !sameToken(token, apiToken)) {
      next(
        new HttpProblem(401, 'unauthorized', 'a valid Bearer token is required', {
          'WWW-Authenticate': 'Bearer realm="countersign"',
        }),
      );
      return;
    }
    next();
  };
}
