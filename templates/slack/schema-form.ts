import type { types } from '@slack/bolt';
import { z } from 'zod';
import {
  humanise,
  type JsonSchemaProperty,
  jsonSchemaObject,
  jsonSchemaProperty,
} from '../../src/views/json-schema.js';
import { clip, LIMITS, plain } from './text.js';

type Block = types.KnownBlock;

/**
 * Slack modal fields generated from a JSON Schema (z.toJSONSchema of a workflow's zod schema): the schema stays
 * the one source of truth for what may be entered, and the engine validates the result with the same schema.
 * string → text input (multiline when long), enum → select, number → number input, boolean → checkbox.
 * Each field is one input block whose block_id is the field name, so validation issues map back to it.
 */

const ACTION = 'value';
const LONG_NAMES = /reply|description|message|body|text|comment|note/i;

type FieldKind = 'text' | 'multiline' | 'number' | 'integer' | 'select' | 'checkbox';
interface FormField {
  name: string;
  kind: FieldKind;
  label: string;
  hint?: string;
  optional: boolean;
  options?: string[];
  maxLength?: number;
  minLength?: number;
  min?: number;
  max?: number;
}

function typeOf(p: JsonSchemaProperty): string | undefined {
  if (Array.isArray(p.type)) return p.type.find((t) => t !== 'null');
  return p.type;
}

function kindOf(name: string, p: JsonSchemaProperty): FieldKind | undefined {
  if (p.enum?.every((v) => typeof v === 'string')) return 'select';
  const t = typeOf(p);
  if (t === 'boolean') return 'checkbox';
  if (t === 'integer') return 'integer';
  if (t === 'number') return 'number';
  if (t === 'string') return (p.maxLength ?? 0) > 200 || LONG_NAMES.test(name) ? 'multiline' : 'text';
  // A union such as "number or decimal string" is typed as text; the schema parses it on the server.
  if (p.anyOf?.some((a) => a.type === 'string' || a.type === 'number')) return 'text';
  return undefined; // arrays and nested objects are not form fields; they keep their proposed values
}

/** The fields a JSON Schema object describes, in its property order. */
function formFields(schema: Record<string, unknown>): FormField[] {
  const obj = jsonSchemaObject.parse(schema);
  const fields: FormField[] = [];
  for (const [name, raw] of Object.entries(obj.properties)) {
    const p = jsonSchemaProperty.safeParse(raw);
    if (!p.success) continue;
    const kind = kindOf(name, p.data);
    if (!kind) continue;
    fields.push({
      name,
      kind,
      label: p.data.title ?? humanise(name),
      ...(p.data.description ? { hint: p.data.description } : {}),
      optional: !obj.required.includes(name),
      ...(kind === 'select' ? { options: (p.data.enum as string[]).slice(0, LIMITS.selectOptions) } : {}),
      ...(p.data.maxLength !== undefined ? { maxLength: p.data.maxLength } : {}),
      // Slack checks min_length itself, in its own words; a workflow that wrote its own message is left to say it.
      ...(p.data.minLength !== undefined && typeof p.data.errorMessage?.minLength !== 'string'
        ? { minLength: p.data.minLength }
        : {}),
      ...(p.data.minimum !== undefined ? { min: p.data.minimum } : {}),
      ...(p.data.maximum !== undefined ? { max: p.data.maximum } : {}),
    });
  }
  return fields;
}

const option = (v: string) => ({ text: plain(humanise(v), LIMITS.optionText), value: v });

function element(f: FormField, initial: unknown): types.InputBlock['element'] {
  switch (f.kind) {
    case 'select':
      return {
        type: 'static_select',
        action_id: ACTION,
        options: (f.options ?? []).map(option),
        ...(typeof initial === 'string' && f.options?.includes(initial) ? { initial_option: option(initial) } : {}),
      };
    case 'checkbox':
      return {
        type: 'checkboxes',
        action_id: ACTION,
        options: [{ text: plain(f.label, LIMITS.optionText), value: 'true' }],
        ...(initial === true ? { initial_options: [{ text: plain(f.label, LIMITS.optionText), value: 'true' }] } : {}),
      };
    case 'number':
    case 'integer':
      return {
        type: 'number_input',
        action_id: ACTION,
        is_decimal_allowed: f.kind === 'number',
        ...(typeof initial === 'number' ? { initial_value: String(initial) } : {}),
        ...(f.min !== undefined ? { min_value: String(f.min) } : {}),
        ...(f.max !== undefined ? { max_value: String(f.max) } : {}),
      };
    default: {
      const text = initial === undefined || initial === null ? undefined : String(initial);
      return {
        type: 'plain_text_input',
        action_id: ACTION,
        multiline: f.kind === 'multiline',
        // Slack caps text inputs at 3,000 characters; a schema allowing more still validates on the server.
        max_length: Math.min(f.maxLength ?? LIMITS.plainTextInput, LIMITS.plainTextInput),
        ...(f.minLength !== undefined && f.minLength <= LIMITS.plainTextInput ? { min_length: f.minLength } : {}),
        ...(text ? { initial_value: clip(text, LIMITS.plainTextInput) } : {}),
      };
    }
  }
}

/** Input blocks for `schema`, prefilled from `values`. */
export function formBlocks(schema: Record<string, unknown>, values: Record<string, unknown> = {}): Block[] {
  return formFields(schema).map((f) => ({
    type: 'input',
    block_id: f.name,
    optional: f.optional || f.kind === 'checkbox',
    label: plain(f.label, LIMITS.inputLabel),
    ...(f.hint ? { hint: plain(f.hint, LIMITS.inputHint) } : {}),
    element: element(f, values[f.name]),
  }));
}

/** The state Slack sends with view_submission: block_id → action_id → the element's value. */
export const viewStateSchema = z.object({
  values: z.record(
    z.string(),
    z.record(
      z.string(),
      z
        .object({
          type: z.string(),
          value: z.string().nullish(),
          selected_option: z.object({ value: z.string() }).nullish(),
          selected_options: z.array(z.object({ value: z.string() })).nullish(),
        })
        .loose(),
    ),
  ),
});
export type ViewState = z.infer<typeof viewStateSchema>;

/** What a person entered, typed per the schema; empty fields are left out so the schema decides about them. */
export function formValues(schema: Record<string, unknown>, state: ViewState): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of formFields(schema)) {
    const v = state.values[f.name]?.[ACTION];
    if (!v) continue;
    if (f.kind === 'checkbox') out[f.name] = (v.selected_options ?? []).length > 0;
    else if (f.kind === 'select') {
      if (v.selected_option) out[f.name] = v.selected_option.value;
    } else if (f.kind === 'number' || f.kind === 'integer') {
      if (v.value != null && v.value.trim() !== '') out[f.name] = Number(v.value);
    } else if (v.value != null && v.value !== '') out[f.name] = v.value;
  }
  return out;
}

/**
 * Validation issues as `response_action: errors` wants them: block_id → message. An issue on a field without a
 * block (or on the whole object) is shown on the first field so it is never lost.
 */
export function formErrors(
  schema: Record<string, unknown>,
  issues: readonly { path: string; message: string }[],
): Record<string, string> {
  const names = formFields(schema).map((f) => f.name);
  const errors: Record<string, string> = {};
  for (const issue of issues) {
    const field = issue.path.split('.')[0] ?? '';
    const block = names.includes(field) ? field : names[0];
    if (!block) continue;
    const message = names.includes(field) ? issue.message : `${issue.path}: ${issue.message}`;
    errors[block] = clip(errors[block] ? `${errors[block]}; ${message}` : message, 500);
  }
  return errors;
}
