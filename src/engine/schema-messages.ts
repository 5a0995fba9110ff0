import { z } from 'zod';
import { humanise } from '../views/json-schema.js';

/**
 * A workflow's own validation messages, carried through JSON Schema. Checkpoint schemas are stored as JSON
 * Schema and rebuilt with `z.fromJSONSchema` to validate a person's edits, which keeps the rules but loses
 * `z.string().min(20, 'Write at least a short paragraph')`. So the messages travel beside the rules, under the
 * vendor keyword `errorMessage` (ajv-errors' name) on each property: `{ minLength: '…', enum: '…', required: '…' }`.
 * Reading issues back, each zod issue maps to the keyword it broke; without a message of the workflow's own (or
 * for schemas stored before this keyword existed) a plain sentence built from the field's title stands in for
 * zod's generic text.
 */

const ERROR_MESSAGE = 'errorMessage';

type Keyword =
  | 'type'
  | 'required'
  | 'enum'
  | 'const'
  | 'minLength'
  | 'maxLength'
  | 'minimum'
  | 'maximum'
  | 'exclusiveMinimum'
  | 'exclusiveMaximum'
  | 'minItems'
  | 'maxItems'
  | 'pattern'
  | 'format'
  | 'multipleOf';

export interface FieldIssue {
  path: string;
  message: string;
}

/** What zod keeps in a schema's or check's `_zod.def` that matters here; read defensively, it is internal. */
interface DefLike {
  type?: unknown;
  check?: unknown;
  format?: unknown;
  error?: unknown;
  checks?: unknown;
  values?: unknown;
  entries?: unknown;
  inclusive?: unknown;
  value?: unknown;
  minimum?: unknown;
  maximum?: unknown;
  length?: unknown;
}

const defOf = (x: unknown): DefLike => {
  const zod = (x as { _zod?: { def?: unknown } } | undefined)?._zod;
  return typeof zod?.def === 'object' && zod.def !== null ? (zod.def as DefLike) : {};
};

/**
 * Asks an error setting (`'text'`, `{ error: 'text' }` or a function of the issue, all stored by zod as a
 * function) what it says for a typical issue of one kind. Only a string answer is the workflow's message.
 */
function said(error: unknown, issue: Record<string, unknown>): string | undefined {
  if (typeof error !== 'function') return undefined;
  try {
    const out: unknown = error(issue);
    if (typeof out === 'string' && out) return out;
    const message = (out as { message?: unknown } | null | undefined)?.message;
    return typeof message === 'string' && message ? message : undefined;
  } catch {
    return undefined; // an error map written for real issues may trip over a made-up one; it has no say here
  }
}

/** The messages a single zod schema (not its children) defines, by JSON Schema keyword. */
function ownMessages(schema: unknown): Partial<Record<Keyword, string>> {
  const def = defOf(schema);
  const out: Partial<Record<Keyword, string>> = {};
  const put = (k: Keyword, m: string | undefined) => {
    if (m && out[k] === undefined) out[k] = m;
  };
  const expected = typeof def.type === 'string' ? def.type : undefined;
  // A missing enum value is reported as not one of the options, other missing values as the wrong type.
  const missing = def.type === 'enum' || def.type === 'literal' ? 'invalid_value' : 'invalid_type';
  put('required', said(def.error, { code: missing, expected, values: [], input: undefined }));
  if (def.type === 'enum') put('enum', said(def.error, { code: 'invalid_value', values: [], input: null }));
  else if (def.type === 'literal') put('const', said(def.error, { code: 'invalid_value', values: [], input: null }));
  else put('type', said(def.error, { code: 'invalid_type', expected, input: null }));
  // String formats (z.email(), z.url(), …) are schemas that are also their own check.
  if (def.check === 'string_format') {
    const issue = { code: 'invalid_format', format: def.format, input: '' };
    put(def.format === 'regex' ? 'pattern' : 'format', said(def.error, issue));
  }
  const isArray = def.type === 'array';
  for (const check of Array.isArray(def.checks) ? def.checks : []) {
    const c = defOf(check);
    const origin = isArray ? 'array' : expected;
    switch (c.check) {
      case 'min_length':
        put(isArray ? 'minItems' : 'minLength', said(c.error, { code: 'too_small', origin, minimum: c.minimum }));
        break;
      case 'max_length':
        put(isArray ? 'maxItems' : 'maxLength', said(c.error, { code: 'too_big', origin, maximum: c.maximum }));
        break;
      case 'length_equals': {
        put(isArray ? 'minItems' : 'minLength', said(c.error, { code: 'too_small', origin, minimum: c.length }));
        put(isArray ? 'maxItems' : 'maxLength', said(c.error, { code: 'too_big', origin, maximum: c.length }));
        break;
      }
      case 'greater_than': {
        const issue = { code: 'too_small', origin, minimum: c.value, inclusive: c.inclusive };
        put(c.inclusive ? 'minimum' : 'exclusiveMinimum', said(c.error, issue));
        break;
      }
      case 'less_than': {
        const issue = { code: 'too_big', origin, maximum: c.value, inclusive: c.inclusive };
        put(c.inclusive ? 'maximum' : 'exclusiveMaximum', said(c.error, issue));
        break;
      }
      case 'multiple_of':
        put('multipleOf', said(c.error, { code: 'not_multiple_of', divisor: c.value }));
        break;
      case 'string_format':
        put(c.format === 'regex' ? 'pattern' : 'format', said(c.error, { code: 'invalid_format', format: c.format }));
        break;
    }
  }
  return out;
}

/**
 * `z.toJSONSchema` (input side) with each property's own messages under `errorMessage`; descriptions and titles
 * (`.describe()`, `.meta({ title })`) are carried by zod itself.
 */
export function toJSONSchemaWithMessages(
  schema: z.ZodType,
  o: { unrepresentable?: 'any' | 'throw' } = {},
): Record<string, unknown> {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    ...(o.unrepresentable ? { unrepresentable: o.unrepresentable } : {}),
    override(ctx) {
      const messages = ownMessages(ctx.zodSchema);
      if (Object.keys(messages).length === 0) return;
      const js = ctx.jsonSchema as Record<string, unknown>;
      const before = js[ERROR_MESSAGE];
      js[ERROR_MESSAGE] = { ...(typeof before === 'object' && before !== null ? before : {}), ...messages };
    },
  }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

// --- reading issues back ---

type Node = Record<string, unknown>;
const asNode = (x: unknown): Node | undefined =>
  typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Node) : undefined;

/** `#/$defs/Name` and `#/definitions/Name` within the same document. */
function resolve(root: Node, node: Node | undefined): Node | undefined {
  const ref = node?.$ref;
  if (typeof ref !== 'string' || !ref.startsWith('#/')) return node;
  let at: unknown = root;
  for (const part of ref.slice(2).split('/')) at = asNode(at)?.[part];
  return asNode(at) ?? node;
}

/** The node itself and its non-null `anyOf`/`oneOf` branches: nullable and union fields keep their rules there. */
function branches(root: Node, node: Node | undefined): Node[] {
  const n = resolve(root, node);
  if (!n) return [];
  const alts = [...(Array.isArray(n.anyOf) ? n.anyOf : []), ...(Array.isArray(n.oneOf) ? n.oneOf : [])]
    .map((a) => resolve(root, asNode(a)))
    .filter((a): a is Node => a !== undefined && a.type !== 'null');
  return [n, ...alts];
}

function childOf(root: Node, node: Node | undefined, key: PropertyKey): Node | undefined {
  for (const b of branches(root, node)) {
    const props = asNode(b.properties);
    if (typeof key === 'string' && props && key in props) return resolve(root, asNode(props[key]));
    if (typeof key === 'number' && b.items !== undefined) return resolve(root, asNode(b.items));
  }
  return undefined;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at = input;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

/** The JSON Schema keyword a zod issue broke. */
function keywordOf(issue: z.core.$ZodIssue, value: unknown): Keyword | undefined {
  if (value === undefined && ['invalid_type', 'invalid_value', 'invalid_union'].includes(issue.code)) return 'required';
  switch (issue.code) {
    case 'invalid_type':
      return value === undefined ? 'required' : 'type';
    case 'invalid_value':
      return issue.values.length === 1 ? 'const' : 'enum';
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'set') return 'minItems';
      if (issue.origin === 'string') return 'minLength';
      return issue.inclusive === false ? 'exclusiveMinimum' : 'minimum';
    case 'too_big':
      if (issue.origin === 'array' || issue.origin === 'set') return 'maxItems';
      if (issue.origin === 'string') return 'maxLength';
      return issue.inclusive === false ? 'exclusiveMaximum' : 'maximum';
    case 'invalid_format':
      return issue.format === 'regex' ? 'pattern' : 'format';
    case 'not_multiple_of':
      return 'multipleOf';
    default:
      return undefined;
  }
}

const n = (x: unknown) => (typeof x === 'number' || typeof x === 'bigint' ? x.toLocaleString('en') : String(x));
const plural = (x: unknown, one: string, many: string) => `${n(x)} ${Number(x) === 1 ? one : many}`;

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  integer: 'a whole number',
  boolean: 'yes or no',
  array: 'a list',
  object: 'a set of fields',
  date: 'a date',
};
const FORMAT_WORDS: Record<string, string> = {
  email: 'an email address',
  url: 'a web address (URL)',
  uuid: 'a UUID',
  date: 'a date (YYYY-MM-DD)',
  datetime: 'a date and time',
  time: 'a time of day',
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
};

/** A plain sentence naming the field, for rules the workflow gave no words of its own. */
function fallback(label: string, issue: z.core.$ZodIssue, keyword: Keyword | undefined, format?: string): string {
  if (keyword === 'required') return `${label} is required`;
  if (format && keyword === 'format') return `${label} must be ${FORMAT_WORDS[format] ?? `a valid ${format}`}`;
  switch (issue.code) {
    case 'invalid_type':
      return `${label} must be ${TYPE_WORDS[issue.expected] ?? issue.expected}`;
    case 'invalid_value':
      if (issue.values.length === 1) return `${label} must be ${String(issue.values[0])}`;
      if (issue.values.length <= 8) return `${label} must be one of: ${issue.values.map(String).join(', ')}`;
      return `${label} is not one of the allowed choices`;
    case 'too_small':
      if (issue.origin === 'string') {
        return Number(issue.minimum) <= 1
          ? `${label} cannot be empty`
          : `${label} must be at least ${plural(issue.minimum, 'character', 'characters')}`;
      }
      if (issue.origin === 'array' || issue.origin === 'set')
        return `${label} needs at least ${plural(issue.minimum, 'item', 'items')}`;
      return `${label} must be ${issue.inclusive === false ? 'more than' : 'at least'} ${n(issue.minimum)}`;
    case 'too_big':
      if (issue.origin === 'string')
        return `${label} must be at most ${plural(issue.maximum, 'character', 'characters')}`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `${label} can have at most ${plural(issue.maximum, 'item', 'items')}`;
      return `${label} must be ${issue.inclusive === false ? 'less than' : 'at most'} ${n(issue.maximum)}`;
    case 'invalid_format':
      if (issue.format === 'regex' || issue.format === 'starts_with' || issue.format === 'ends_with')
        return `${label} is not in the expected form`;
      return `${label} must be ${FORMAT_WORDS[issue.format] ?? `a valid ${issue.format}`}`;
    case 'not_multiple_of':
      return `${label} must be a multiple of ${n(issue.divisor)}`;
    case 'unrecognized_keys':
      return `${label} has fields that are not allowed: ${issue.keys.join(', ')}`;
    default:
      return `${label} is not valid`;
  }
}

const zodDefault = z.locales.en().localeError;

/** Whether `issue.message` is zod's own text for it rather than words the workflow wrote. */
function isZodDefault(issue: z.core.$ZodIssue, value: unknown): boolean {
  const text = zodDefault({ ...issue, input: value } as unknown as Parameters<typeof zodDefault>[0]);
  const message = typeof text === 'string' ? text : text?.message;
  return message === issue.message || issue.message === 'Invalid input';
}

/**
 * zod issues as `{ path, message }` in the workflow's words. `schema` is the JSON Schema the input was checked
 * against (with or without `errorMessage`); `input` is what was checked. With `keepOwnMessages` (the issues came
 * from the workflow's zod schema itself, not one rebuilt from JSON Schema) a message that is not zod's default is
 * already the workflow's own and stays.
 */
export function readableIssues(
  schema: Record<string, unknown>,
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  o: { keepOwnMessages?: boolean } = {},
): FieldIssue[] {
  const out = issues.map((issue): FieldIssue => {
    const path = issue.path.map(String).join('.') || '(root)';
    const value = valueAt(input, issue.path);
    if (o.keepOwnMessages && !isZodDefault(issue, value)) return { path, message: issue.message };
    let node: Node | undefined = resolve(schema, schema);
    for (const key of issue.path) node = childOf(schema, node, key);
    let keyword = keywordOf(issue, value);
    const format = branches(schema, node)
      .map((b) => b.format)
      .find((f): f is string => typeof f === 'string');
    // JSON Schema writes z.email() as `format` plus the `pattern` that checks it: one rule, one message.
    if (keyword === 'pattern' && format) keyword = 'format';
    const own = keyword
      ? branches(schema, node)
          .map((b) => asNode(b[ERROR_MESSAGE])?.[keyword])
          .find((m): m is string => typeof m === 'string' && m.length > 0)
      : undefined;
    if (own) return { path, message: own };
    const last = [...issue.path].reverse().find((k): k is string => typeof k === 'string');
    const title = branches(schema, node)
      .map((b) => b.title)
      .find((t): t is string => typeof t === 'string' && t.length > 0);
    const label = title ?? (last ? humanise(last) : 'The input');
    return { path, message: fallback(label, issue, keyword, format) };
  });
  return out.filter((a, i) => out.findIndex((b) => b.path === a.path && b.message === a.message) === i);
}
