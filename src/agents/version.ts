import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { Agent, Tool } from './define.js';

/**
 * An agent's version: what it was told and what it could answer, as a short hash. A run records the version of each
 * agent step (StepDoc.agentVersion), agreement records carry the versions behind each proposal, evals name them, and
 * the digest reports when agreement moved after one changed. Everything that changes what the model is asked, and
 * by which model, is covered: instructions, input and output JSON Schemas (field descriptions included), each tool's
 * name, description and argument schema (an agent handed over as a tool counts with its own version), the limits,
 * and the model. Code inside tools is not covered: a tool that reads differently under the same description keeps
 * the version.
 */

const HASH_LENGTH = 12;

/** Per agent object, per model: hashing walks every schema, and an agent step asks on every end. */
const cache = new WeakMap<Agent<unknown, unknown>, Map<string, string>>();

/**
 * The version of `agent` as run with `model`: pass the model the step actually resolved (configuration may choose
 * another than the agent's own); without it, the agent's own `model` (or none) is hashed.
 */
export function agentVersion(agent: Agent<unknown, unknown>, model?: string): string {
  const used = model ?? agent.model ?? '';
  let byModel = cache.get(agent);
  if (!byModel) {
    byModel = new Map();
    cache.set(agent, byModel);
  }
  const known = byModel.get(used);
  if (known) return known;
  const version = shortHash(canonicalJson(describeAgent(agent, used)));
  byModel.set(used, version);
  return version;
}

/** One hash over several agents' versions (an eval run's, a workflow's): changes when any of them changes. */
export function promptVersion(versions: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(versions)
    .map(([name, version]) => `${name}=${version}`)
    .sort();
  return shortHash(pairs.join('\n'));
}

function describeAgent(agent: Agent<unknown, unknown>, model: string) {
  return {
    instructions: agent.instructions,
    input: schemaOf(agent.input),
    output: schemaOf(agent.output),
    tools: agent.tools.map(describeTool),
    limits: agent.limits,
    model,
  };
}

function describeTool(tool: Tool<unknown, unknown>) {
  return {
    name: tool.name,
    description: tool.description,
    input: schemaOf(tool.input),
    // A specialist's own prompt shapes what the orchestrator proposes.
    ...(tool.agent ? { agent: agentVersion(tool.agent) } : {}),
  };
}

/**
 * The JSON Schema as the model sees it (the parsing side). A type JSON Schema cannot express becomes `{}` rather than
 * an error: an agent's input may hold such types, and a version must never stop a step. `$schema` is dropped so a
 * zod upgrade that renames the draft does not look like a prompt change.
 */
function schemaOf(schema: z.ZodType): unknown {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete json.$schema;
  return json;
}

/** JSON with object keys sorted at every depth, so equal content hashes equally in every process. */
/** JSON with object keys sorted at every level: equal data gives equal text whatever order it was written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

export const shortHash = (text: string): string =>
  createHash('sha256').update(text).digest('hex').slice(0, HASH_LENGTH);
