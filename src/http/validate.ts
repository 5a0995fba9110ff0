import type { z } from 'zod';
import { InvalidInput, issuesOf } from '../errors.js';

/** Parses a request part (body, params, query, header) or throws InvalidInput naming the part. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidInput(`invalid ${what}`, issuesOf(parsed.error));
  return parsed.data;
}
