import { z } from 'zod';
import type { WorkflowRegistry } from '../../src/engine/workflow.js';

const cache = new Map<string, Record<string, unknown>>();

/**
 * A workflow's input schema as JSON Schema, for the intake modal: the same zod schema that validates the run's
 * input decides which fields the form shows.
 */
export function inputSchemaOf(workflows: WorkflowRegistry, name: string): Record<string, unknown> | undefined {
  const hit = cache.get(name);
  if (hit) return hit;
  const wf = workflows.get(name);
  if (!wf) return undefined;
  const schema = z.toJSONSchema(wf.input, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  cache.set(name, schema);
  return schema;
}
