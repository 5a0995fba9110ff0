import { z } from 'zod';
import {
  humanise,
  type JsonSchemaProperty,
  jsonSchemaObject,
  jsonSchemaProperty,
  typesOf,
} from '../views/json-schema.js';

/**
 * An intake form from a workflow's input JSON Schema (made from its zod schema, src/modules/catalogue.ts), and the
 * way back from the submitted fields to an input the engine validates with that same zod schema. The form never
 * decides what is valid: it only types what was typed, and shows the engine's issues beside the fields.
 */
export type IntakeFieldKind = 'text' | 'email' | 'decimal' | 'number' | 'integer' | 'select' | 'checkbox' | 'textarea';

export interface IntakeField {
  name: string;
  label: string;
  kind: IntakeFieldKind;
  required: boolean;
  /** The schema's `description`, or what its own validation messages say is expected. */
  help?: string;
  options?: string[];
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  /** The workflow's words for what a valid value looks like (its `errorMessage`), used when zod's are generic. */
  expected?: string;
}

/** Parts of an input that a channel fills in, never a person: the email thread, where it came from. */
const INTERNAL = new Set(['thread', 'origin', 'attachments', 'source', 'idempotencyKey']);
const LONG_NAMES = /^(description|reason_text|details|message|body|comment|notes?|explanation)$/i;

/** The first of the workflow's own validation messages, in this property or its union branches. */
function ownMessage(p: JsonSchemaProperty): string | undefined {
  const all = [p.errorMessage, ...(p.anyOf ?? []).map((a) => (a as JsonSchemaProperty).errorMessage)];
  for (const m of all) {
    const first = Object.values(m ?? {}).find((v): v is string => typeof v === 'string' && v.length > 0);
    if (first) return first;
  }
  return undefined;
}

function kindOf(name: string, p: JsonSchemaProperty): IntakeFieldKind | undefined {
  const types = typesOf(p);
  const strings = p.enum?.filter((v): v is string => typeof v === 'string') ?? [];
  if (strings.length > 0 && strings.length === p.enum?.length) return 'select';
  if (types.length === 0) return undefined;
  // "a number or a decimal string" (amounts): typed as text so "49.00" reaches the schema as written.
  if (types.includes('string') && types.includes('number')) return 'decimal';
  const [t] = types;
  if (types.length > 1 && !types.every((x) => x === t)) return undefined;
  if (t === 'boolean') return 'checkbox';
  if (t === 'integer') return 'integer';
  if (t === 'number') return 'number';
  if (t !== 'string') return undefined; // objects and arrays are filled by channels, not by people
  if ((p.maxLength ?? 0) > 200 || LONG_NAMES.test(name)) return 'textarea';
  if (p.format === 'email' || /email/i.test(name)) return 'email';
  return 'text';
}

function sentence(text: string): string {
  const t = text.trim();
  return /[.!?]$/.test(t) ? t : `${t}.`;
}

function helpOf(kind: IntakeFieldKind, p: JsonSchemaProperty, expected: string | undefined): string | undefined {
  if (p.description) return p.description;
  if (expected) return sentence(`Enter ${expected}`);
  if (kind === 'email') return 'An email address.';
  if ((kind === 'text' || kind === 'textarea') && p.maxLength !== undefined)
    return `Up to ${p.maxLength.toLocaleString('en')} characters.`;
  return undefined;
}

/** The fields a person fills in, in the schema's order. */
export function intakeFields(schema: Record<string, unknown>): IntakeField[] {
  const parsed = jsonSchemaObject.safeParse(schema);
  if (!parsed.success) return [];
  const fields: IntakeField[] = [];
  for (const [name, raw] of Object.entries(parsed.data.properties)) {
    if (INTERNAL.has(name)) continue;
    const p = jsonSchemaProperty.safeParse(raw);
    if (!p.success) continue;
    const kind = kindOf(name, p.data);
    if (!kind) continue;
    const expected = ownMessage(p.data);
    const help = helpOf(kind, p.data, expected);
    fields.push({
      name,
      label: p.data.title ?? humanise(name),
      kind,
      required: parsed.data.required.includes(name),
      ...(help ? { help } : {}),
      ...(kind === 'select' ? { options: (p.data.enum ?? []).map(String) } : {}),
      ...(p.data.maxLength !== undefined ? { maxLength: p.data.maxLength } : {}),
      ...(p.data.minimum !== undefined ? { minimum: p.data.minimum } : {}),
      ...(p.data.maximum !== undefined ? { maximum: p.data.maximum } : {}),
      ...(expected ? { expected } : {}),
    });
  }
  return fields;
}

const attachmentItems = z.object({
  type: z.literal('array'),
  maxItems: z.number().int().optional(),
  items: z.object({ properties: z.record(z.string(), z.unknown()) }).loose(),
});
const ATTACHMENT_KEYS = ['filename', 'contentType', 'sha256', 'size'];

/**
 * Whether the input takes files as `attachments: [{filename, contentType, sha256, size, text?}]` (the shape email
 * intake fills), and how many.
 */
export function attachmentSlot(schema: Record<string, unknown>): { maxItems: number } | undefined {
  const props = jsonSchemaObject.safeParse(schema);
  const slot = attachmentItems.safeParse(props.success ? props.data.properties.attachments : undefined);
  if (!slot.success) return undefined;
  const keys = Object.keys(slot.data.items.properties);
  if (!ATTACHMENT_KEYS.every((k) => keys.includes(k))) return undefined;
  return { maxItems: slot.data.maxItems ?? Number.MAX_SAFE_INTEGER };
}

/** What the form shows again after an error: exactly what was typed (checkboxes as ticked or not). */
export type TypedValues = Record<string, string | boolean>;

const NUMERIC = /^-?\d+(\.\d+)?$/;

/**
 * The input from submitted fields. Empty fields are left out so the schema says whether they were needed; a number
 * that does not read as one stays text, so the schema's issue lands on that field instead of a silent NaN.
 */
export function readIntakeForm(
  fields: IntakeField[],
  submitted: ReadonlyMap<string, string>,
): { input: Record<string, unknown>; values: TypedValues } {
  const input: Record<string, unknown> = {};
  const values: TypedValues = {};
  for (const f of fields) {
    const raw = submitted.get(f.name);
    if (f.kind === 'checkbox') {
      values[f.name] = raw !== undefined;
      input[f.name] = raw !== undefined;
      continue;
    }
    if (raw === undefined) continue;
    values[f.name] = raw;
    if (raw.trim() === '') continue;
    if (f.kind === 'number' || f.kind === 'integer') input[f.name] = NUMERIC.test(raw.trim()) ? Number(raw) : raw;
    else input[f.name] = raw;
  }
  return { input, values };
}

export interface FieldIssue {
  path: string;
  message: string;
}

/** An issue in words a person filling the form reads beside the field. */
function readable(f: IntakeField, message: string): string {
  if (/received undefined/.test(message)) return `${f.label} is required.`;
  if (/^Invalid input/.test(message) || /^Invalid /.test(message))
    return f.expected ? sentence(`Enter ${f.expected}`) : `${f.label} is not valid.`;
  if (/^an? /.test(message)) return sentence(`Enter ${message}`);
  if (/^[a-z]/.test(message)) return sentence(`${f.label} ${message}`);
  return sentence(message);
}

/** Issues by field name, and the ones no field shows (said at the top of the form). */
export function placeIssues(
  fields: IntakeField[],
  issues: readonly FieldIssue[],
): { byField: Map<string, string[]>; other: string[] } {
  const byField = new Map<string, string[]>();
  const other: string[] = [];
  for (const issue of issues) {
    const head = issue.path.split('.')[0] ?? '';
    const f = fields.find((x) => x.name === head);
    if (!f) {
      other.push(issue.path === '(root)' ? issue.message : `${humanise(head)}: ${issue.message}`);
      continue;
    }
    const list = byField.get(f.name) ?? [];
    const text = readable(f, issue.message);
    if (!list.includes(text)) list.push(text);
    byField.set(f.name, list);
  }
  return { byField, other };
}
