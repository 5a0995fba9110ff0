import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/** The real-message corpus in test/fixtures/mail-corpus and what each message must come to (see its SOURCES.md). */
const entrySchema = z.object({
  file: z.string().regex(/^[a-z0-9-]+\.eml$/),
  repo: z.string().min(3),
  path: z.string().min(1),
  licence: z.string().min(2),
  expected: z.string().regex(/^(ignored:[a-z-]+|done|quarantined:.+)$/),
  what: z.string().min(1),
});
export type CorpusEntry = z.infer<typeof entrySchema>;

const dir = join(import.meta.dirname, '..', 'fixtures', 'mail-corpus');

export const corpus: CorpusEntry[] = z
  .array(entrySchema)
  .min(40)
  .parse(JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')));

export const corpusFile = (name: string): Buffer => readFileSync(join(dir, name));

/** The header block as IMAP `BODY[HEADER]` returns it: everything up to and including the first empty line. */
export function headerBlock(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const end = /(?:^|\r?\n)\r?\n/.exec(text);
  return end ? raw.subarray(0, end.index + end[0].length) : raw;
}
