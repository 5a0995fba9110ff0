import { type FieldIssue, readableIssues, toJSONSchemaWithMessages } from '../../src/engine/schema-messages.js';
import type { WorkflowRegistry } from '../../src/engine/workflow.js';

const cache = new Map<string, Record<string, unknown>>();

/**
 * A workflow's input schema as JSON Schema, for the intake modal: the same zod schema that validates the run's
 * input decides which fields the form shows, and its own validation messages ride along (`errorMessage`).
 */
export function inputSchemaOf(workflows: WorkflowRegistry, name: string): Record<string, unknown> | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  const wf = workflows.get(name);
  if (!wf) return undefined;
  const schema = toJSONSchemaWithMessages(wf.input, { unrepresentable: 'any' });
  cache.set(name, schema);
  return schema;
}

/**
 * What is wrong with a form's input, in the workflow's words (its own messages, else a sentence naming the
 * field), checked with the workflow's zod schema before the run is started so the modal can show it per field.
 */
export function inputIssues(workflows: WorkflowRegistry, name: string, input: Record<string, unknown>): FieldIssue[] {
  const wf = workflows.get(name);
  const schema = inputSchemaOf(workflows, name);
  if (!wf || !schema) return [];
  const parsed = wf.input.safeParse(input);
  return parsed.success ? [] : readableIssues(schema, parsed.error.issues, input, { keepOwnMessages: true });
}
