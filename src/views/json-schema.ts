import { z } from 'zod';

/**
 * Reading a workflow's JSON Schema (z.toJSONSchema of its zod schema, with its own messages) to build forms: the
 * console's intake forms and Slack's modals read the same few keywords the same way. Anything else is kept (loose)
 * and ignored; the engine validates what comes back with the zod schema itself.
 */
export const jsonSchemaProperty = z
  .object({
    type: z.union([z.string(), z.array(z.string())]).optional(),
    enum: z.array(z.unknown()).optional(),
    anyOf: z.array(z.object({ type: z.string().optional() }).loose()).optional(),
    title: z.string().optional(),
    description: z.string().optional(),
    format: z.string().optional(),
    maxLength: z.number().optional(),
    minLength: z.number().optional(),
    minimum: z.number().optional(),
    maximum: z.number().optional(),
    /** The workflow's own validation messages by keyword (src/engine/schema-messages.ts). */
    errorMessage: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();
export type JsonSchemaProperty = z.infer<typeof jsonSchemaProperty>;

export const jsonSchemaObject = z
  .object({
    properties: z.record(z.string(), z.unknown()).default({}),
    required: z.array(z.string()).default([]),
  })
  .loose();

/** The non-null types a property allows, its own and those of its union branches (`nullable` becomes anyOf). */
export function typesOf(p: JsonSchemaProperty): string[] {
  const own = Array.isArray(p.type) ? p.type : p.type ? [p.type] : [];
  const branches = (p.anyOf ?? []).map((a) => a.type).filter((t): t is string => typeof t === 'string');
  return [...own, ...branches].filter((t) => t !== 'null');
}

/** `customerEmail` / `reason_code` → "Customer email" / "Reason code": a label when the schema gives no title. */
export function humanise(field: string): string {
  const words = field
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .toLowerCase()
    .trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}
