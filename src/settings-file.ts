import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { type ParseError, parse as parseJson, printParseErrorCode } from 'jsonc-parser';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';

/** Reads the configuration file as text; tests pass their own. */
export type ReadFile = (path: string) => string;

export const readFileUtf8: ReadFile = (path) => readFileSync(path, 'utf8');

/** Every problem line starts with this, so an operator knows which variable and which file to open. */
export const sourceLabel = (path: string) => `COUNTERSIGN_CONFIG (${path})`;

type Decoded = { ok: true; value: unknown } | { ok: false; problems: string[] };

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'file not found',
  EACCES: 'cannot read the file (permission denied)',
  EISDIR: 'is a directory, expected a JSON or YAML file',
};

export function readSettingsText(
  path: string,
  readFile: ReadFile,
): { ok: true; text: string } | { ok: false; problems: string[] } {
  try {
    return { ok: true, text: readFile(path) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    return {
      ok: false,
      problems: [`${sourceLabel(path)}: ${READ_FAILURES[code] ?? `cannot read the file (${code})`}`],
    };
  }
}

/** `.json` is parsed as JSON; anything else as YAML, which also reads JSON. */
export function decodeSettings(text: string, path: string): Decoded {
  const body = text.replace(/^\uFEFF/, '');
  return extname(path).toLowerCase() === '.json' ? decodeJson(body, path) : decodeYaml(body, path);
}

function decodeYaml(text: string, path: string): Decoded {
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the offending source line, which may hold an API key.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: doc.errors.slice(0, 5).map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${sourceLabel(path)} line ${line}:${col}: ${firstLine(e.message)}`;
      }),
    };
  }
  try {
    // A file of only comments is an empty configuration, not an error.
    return { ok: true, value: doc.toJS({ maxAliasCount: 100 }) ?? {} };
  } catch (err) {
    return { ok: false, problems: [`${sourceLabel(path)}: ${firstLine((err as Error).message)}`] };
  }
}

/** jsonc-parser rather than JSON.parse: it gives an offset for every error and never quotes the file's text. */
const JSON_ERRORS: Record<string, string> = {
  InvalidSymbol: 'unexpected character or word (JSON strings need double quotes)',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes (JSON allows no trailing comma)',
  ValueExpected: 'expected a value (JSON allows no trailing comma)',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the end of the document',
  InvalidCommentToken: 'comments are not allowed in JSON (YAML allows them)',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'control character inside a string',
};

function decodeJson(text: string, path: string): Decoded {
  const errors: ParseError[] = [];
  const value: unknown = parseJson(text, errors, {
    disallowComments: true,
    allowTrailingComma: false,
    allowEmptyContent: false,
  });
  const first = errors[0];
  if (!first) return { ok: true, value };
  // Later errors are nearly always echoes of the first.
  const before = text.slice(0, first.offset);
  const line = before.split('\n').length;
  const col = first.offset - before.lastIndexOf('\n');
  const code = printParseErrorCode(first.error);
  return { ok: false, problems: [`${sourceLabel(path)} line ${line}:${col}: ${JSON_ERRORS[code] ?? code}`] };
}

const firstLine = (message: string) => (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');

/** `workflows.expense-claim.stages[1].above`; keys that are not simple words are quoted. */
export function renderPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z0-9_-]+$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(String(seg))}]`;
  }
  return out;
}

// Values under `providers` are never echoed (keys, URLs with credentials), nor anything shaped like a token.
const SECRET_SHAPED = /^(sk-|sk_|xox[abprs]-|xapp-|ghp_|gho_|glpat-|AKIA|Bearer )/;

function describeValue(value: unknown, path: readonly PropertyKey[]): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  const secretPlace = path[0] === 'providers' || path.includes('apiKey');
  if (typeof value === 'string') {
    if (secretPlace || SECRET_SHAPED.test(value)) return 'text';
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 39)}…` : value);
  }
  if (secretPlace) return `a ${typeof value}`;
  return String(value);
}

const NOUNS: Record<string, string> = {
  number: 'a number',
  int: 'a whole number',
  string: 'text',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
};

const closeEnough = (a: string, b: string) => {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  if (x.includes(y) || y.includes(x)) return true;
  const d: number[] = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let diagonal = d[0] ?? 0;
    d[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const above = d[j] ?? 0;
      d[j] = Math.min(above + 1, (d[j - 1] ?? 0) + 1, diagonal + (x[i - 1] === y[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return (d[y.length] ?? 99) <= 2;
};

function unknownKeysMessage(keys: readonly string[], inst: unknown): string {
  const shape = (inst as { shape?: Record<string, unknown> } | undefined)?.shape;
  const known = shape ? Object.keys(shape) : [];
  const quoted = keys.map((k) => JSON.stringify(k)).join(', ');
  const guess = keys.length === 1 ? known.find((k) => closeEnough(keys[0] ?? '', k)) : undefined;
  if (guess) return `unknown key ${quoted} (did you mean "${guess}"?)`;
  const expected = known.length ? `; expected ${known.join(', ')}` : '';
  return `unknown key${keys.length > 1 ? 's' : ''} ${quoted}${expected}`;
}

/** Messages for issues the schema did not word itself. */
export const settingsErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${NOUNS[issue.expected] ?? issue.expected}`;
    case 'unrecognized_keys':
      return unknownKeysMessage(issue.keys, issue.inst);
    case 'invalid_value':
      return `expected ${issue.values
        .map((v) => String(v))
        .join(', ')
        .replace(/, ([^,]*)$/, ' or $1')}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `expected at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`
        : `expected ${issue.inclusive ? 'at least' : 'more than'} ${issue.minimum}`;
    case 'invalid_key':
      // The key's own schema words what a name may be.
      return issue.issues[0]?.message ?? 'invalid name';
    case 'invalid_format':
      return issue.format === 'email' ? 'expected an email address' : `expected ${issue.format}`;
    case 'too_big':
      return issue.origin === 'string'
        ? `expected at most ${issue.maximum} characters`
        : `expected ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    default:
      return undefined;
  }
};

const ECHOES_INPUT = new Set(['invalid_type', 'invalid_value', 'invalid_format', 'too_small', 'too_big', 'custom']);

/** One line per issue: `COUNTERSIGN_CONFIG (file) path: message, got value`. */
export function issueLine(issue: z.core.$ZodIssue, path: string): string {
  const where = issue.path.length ? ` ${renderPath(issue.path)}` : '';
  const input = (issue as { input?: unknown }).input;
  const scalar = input === null || typeof input !== 'object';
  const echo = input !== undefined && ECHOES_INPUT.has(issue.code) && (scalar || issue.code === 'invalid_type');
  const got = echo ? `, got ${describeValue(input, issue.path)}` : '';
  return `${sourceLabel(path)}${where}: ${issue.message}${got}`;
}
