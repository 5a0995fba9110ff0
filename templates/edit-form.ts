import { z } from 'zod';
import { html, type SafeHtml } from './layout.js';

/**
 * The editable part of a checkpoint as form fields, derived from its JSON Schema (made from the workflow's zod
 * schema), and the way back from a submitted form to edits. Both live here so rendering and reading agree.
 */
export type FieldKind = 'select' | 'textarea' | 'text' | 'number' | 'checkbox';

export interface EditableField {
  name: string;
  label: string;
  kind: FieldKind;
  description?: string;
  options?: string[];
  integer?: boolean;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  /** The workflow's own words for a value of the wrong type (e.g. not a number), if it wrote some. */
  typeMessage?: string;
}

export interface FieldIssue {
  path: string;
  message: string;
}

/** Prefix keeps field names apart from the form's own `decision` and `comment`. */
const FIELD_PREFIX = 'edit.';

const propertySchema = z
  .object({
    type: z.union([z.string(), z.array(z.string())]).optional(),
    enum: z.array(z.unknown()).optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    maxLength: z.number().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    anyOf: z.array(z.object({ type: z.string().optional() }).loose()).optional(),
    /** The workflow's own validation messages by keyword (src/engine/schema-messages.ts). */
    errorMessage: z.object({ type: z.string().optional() }).loose().optional(),
  })
  .loose();
const objectSchema = z.object({ properties: z.record(z.string(), z.unknown()).optional() }).loose();

/** `string | null` (zod's nullable) and `["string","null"]` both count as `string`. */
function primaryType(p: z.infer<typeof propertySchema>): string | undefined {
  const types = Array.isArray(p.type) ? p.type : p.type ? [p.type] : (p.anyOf ?? []).map((a) => a.type);
  return types.filter((t) => t !== 'null' && t !== undefined)[0];
}

function humanize(name: string): string {
  const spaced = name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/[_-]+/g, ' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

export function editableFields(schema: Record<string, unknown>): EditableField[] {
  const parsed = objectSchema.safeParse(schema);
  if (!parsed.success) return [];
  const fields: EditableField[] = [];
  for (const [name, raw] of Object.entries(parsed.data.properties ?? {})) {
    const p = propertySchema.safeParse(raw);
    if (!p.success) continue;
    const type = primaryType(p.data);
    const base = {
      name,
      label: p.data.title ?? humanize(name),
      description: p.data.description,
      ...(p.data.errorMessage?.type ? { typeMessage: p.data.errorMessage.type } : {}),
    };
    const options = p.data.enum?.filter((o): o is string => typeof o === 'string');
    if (type === 'string' && options && options.length > 0) fields.push({ ...base, kind: 'select', options });
    else if (type === 'string') {
      const long = (p.data.maxLength ?? 0) > 200 || name === 'reply';
      fields.push({ ...base, kind: long ? 'textarea' : 'text', maxLength: p.data.maxLength });
    } else if (type === 'number' || type === 'integer') {
      fields.push({
        ...base,
        kind: 'number',
        integer: type === 'integer',
        minimum: p.data.minimum,
        maximum: p.data.maximum,
      });
    } else if (type === 'boolean') fields.push({ ...base, kind: 'checkbox' });
    // Objects and arrays have no sensible form control; they stay as proposed and are editable via the API.
  }
  return fields;
}

function display(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'string' ? value : String(value);
}

function renderField(f: EditableField, value: unknown, issues: FieldIssue[]): SafeHtml {
  const id = `f-${f.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const name = FIELD_PREFIX + f.name;
  const errors = issues.filter((i) => i.path === f.name || i.path.startsWith(`${f.name}.`));
  const note = html`${f.description && html`<div class="muted">${f.description}</div>`}${errors.map(
    (e) => html`<div class="error" role="alert">${e.message}</div>`,
  )}`;
  const maxLength = f.maxLength !== undefined ? html` maxlength="${f.maxLength}"` : '';
  switch (f.kind) {
    case 'checkbox':
      return html`<label class="check" for="${id}"><input type="checkbox" id="${id}" name="${name}" value="on"${value === true && html` checked`}> ${f.label}</label>${note}`;
    case 'select': {
      const current = display(value);
      return html`<label for="${id}">${f.label}</label><select id="${id}" name="${name}">${(f.options ?? []).map(
        (o) => html`<option value="${o}"${o === current && html` selected`}>${o}</option>`,
      )}</select>${note}`;
    }
    case 'textarea':
      // The newline after the opening tag is eaten by the HTML parser, so text that starts with one survives.
      return html`<label for="${id}">${f.label}</label><textarea id="${id}" name="${name}" rows="10"${maxLength}>
${display(value)}</textarea>${note}`;
    case 'number': {
      const attrs = html` step="${f.integer ? '1' : 'any'}"${f.minimum !== undefined && html` min="${f.minimum}"`}${f.maximum !== undefined && html` max="${f.maximum}"`}`;
      return html`<label for="${id}">${f.label}</label><input type="number" id="${id}" name="${name}" value="${display(value)}"${attrs}>${note}`;
    }
    default:
      return html`<label for="${id}">${f.label}</label><input type="text" id="${id}" name="${name}" value="${display(value)}"${maxLength}>${note}`;
  }
}

export function renderEditFields(
  fields: EditableField[],
  values: Record<string, unknown>,
  issues: FieldIssue[] = [],
): SafeHtml {
  return html`${fields.map((f) => renderField(f, values[f.name], issues))}`;
}

/** Form bodies arrive as `string | string[]` per key; a repeated key keeps its last value, as browsers intend. */
function formValue(form: Record<string, unknown>, key: string): string | undefined {
  const v = form[key];
  const last = Array.isArray(v) ? v[v.length - 1] : v;
  return typeof last === 'string' ? last : undefined;
}

/**
 * Reads the edit fields of a submitted form. Only fields the schema declares are read, values are coerced to
 * the schema's types, and only values that differ from what was proposed count as edits.
 * `values` is what the form showed, for re-rendering after an error.
 */
export function readEditForm(
  fields: EditableField[],
  form: Record<string, unknown>,
  proposed: Record<string, unknown>,
): { edits: Record<string, unknown>; values: Record<string, unknown>; issues: FieldIssue[] } {
  const edits: Record<string, unknown> = {};
  const values: Record<string, unknown> = { ...proposed };
  const issues: FieldIssue[] = [];
  for (const f of fields) {
    const raw = formValue(form, FIELD_PREFIX + f.name);
    if (f.kind === 'checkbox') {
      // An unchecked box sends nothing, so absence means false.
      const checked = raw !== undefined;
      values[f.name] = checked;
      if (checked !== (proposed[f.name] === true)) edits[f.name] = checked;
      continue;
    }
    if (raw === undefined) continue;
    if (f.kind === 'number') {
      const text = raw.trim();
      values[f.name] = text;
      if (text === '' && proposed[f.name] === undefined) continue;
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) {
        issues.push({ path: f.name, message: f.typeMessage ?? `${f.label} must be a number` });
        continue;
      }
      values[f.name] = n;
      if (n !== proposed[f.name]) edits[f.name] = n;
      continue;
    }
    // Browsers submit textarea line breaks as CRLF; the proposal uses LF, and an untouched field is not an edit.
    const text = raw.replace(/\r\n?/g, '\n');
    values[f.name] = text;
    const before = proposed[f.name];
    const changed = before === undefined ? text !== '' : text !== display(before).replace(/\r\n?/g, '\n');
    if (changed) edits[f.name] = text;
  }
  return { edits, values, issues };
}
