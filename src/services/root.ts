import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The project root, found from this module's location (src/services or dist/src/services) rather than the
 * working directory, so `countersign services up` run from anywhere manages the same `.data/`.
 */
export function findProjectRoot(from: string = dirname(fileURLToPath(import.meta.url))): string {
  let dir = from;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && readName(pkg) === 'countersign') return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json named countersign above ${from}`);
    dir = parent;
  }
}

function readName(file: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed === 'object' && parsed !== null && 'name' in parsed && typeof parsed.name === 'string') {
      return parsed.name;
    }
  } catch {
    // An unreadable package.json is not ours; keep walking up.
  }
  return undefined;
}
