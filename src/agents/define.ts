import type { z } from 'zod';
import type { Usage } from '../store/models.js';
import type { CallLog } from './call-log.js';

/** What a tool sees of the run it serves. */
export interface ToolContext {
  runId: string;
  stepId: string;
  agent: string;
  signal: AbortSignal;
  /** Runs another agent inside this tool call (agents as tools); its usage is added to the caller's step. */
  runAgent<I, O>(agent: Agent<I, O>, input: I): Promise<O>;
}

export interface Tool<A = unknown, R = unknown> {
  readonly kind: 'tool';
  readonly name: string;
  readonly description: string;
  readonly input: z.ZodType<A>;
  /** The agent this tool runs (agentAsTool): the caller's version (src/agents/version.ts) covers its prompt too. */
  readonly agent?: Agent<unknown, unknown>;
  run(args: A, ctx: ToolContext): Promise<R>;
}

/**
 * A tool an agent may call. Tools given to agents only read: agents propose, the workflow acts.
 *
 * @example
 * const getCharge = defineTool({
 *   name: 'get_charge',
 *   description: 'Looks up a card charge by id',
 *   input: z.object({ chargeId: z.string() }),
 *   run: ({ chargeId }) => data.charge(chargeId),
 * });
 */
export function defineTool<A, R>(tool: {
  name: string;
  description: string;
  input: z.ZodType<A>;
  run(args: A, ctx: ToolContext): Promise<R>;
}): Tool<A, R> {
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name))
    throw new Error(`tool name "${tool.name}" must match ^[a-zA-Z0-9_-]{1,64}$`);
  return { kind: 'tool', ...tool };
}

export interface AgentLimits {
  /** Model round trips, tool turns included. */
  maxTurns: number;
  maxOutputTokens: number;
  /** Per model request; well under the OpenAI SDK's 10-minute default. */
  timeoutMs: number;
  /** Stop with a failure once the estimated cost of this agent step passes it. */
  maxCostUsd?: number;
}

export interface Agent<I = unknown, O = unknown> {
  readonly kind: 'agent';
  readonly name: string;
  readonly instructions: string;
  readonly input: z.ZodType<I>;
  readonly output: z.ZodType<O>;
  // Tools are heterogeneous: each validates its own arguments at call time.
  // biome-ignore lint/suspicious/noExplicitAny: a list of tools with different argument types
  readonly tools: readonly Tool<any, unknown>[];
  readonly model?: string;
  readonly limits: AgentLimits;
}

const DEFAULT_LIMITS: AgentLimits = { maxTurns: 8, maxOutputTokens: 2_000, timeoutMs: 60_000 };

/**
 * An agent: instructions, typed input and output, the read-only tools it may call.
 *
 * @example
 * const languageAnalyst = defineAgent({
 *   name: 'language-analyst',
 *   instructions: 'Read the customer message and classify tone and intent.',
 *   input: z.object({ description: z.string() }),
 *   output: z.object({ tone: z.enum(['calm', 'frustrated', 'angry']), summary: z.string() }),
 *   tools: [],
 *   limits: { maxTurns: 3, maxOutputTokens: 800, timeoutMs: 30_000 },
 * });
 */
export function defineAgent<I, O>(agent: {
  name: string;
  instructions: string;
  input: z.ZodType<I>;
  output: z.ZodType<O>;
  // biome-ignore lint/suspicious/noExplicitAny: see Agent.tools
  tools?: readonly Tool<any, unknown>[];
  model?: string;
  limits?: Partial<AgentLimits>;
}): Agent<I, O> {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(agent.name)) throw new Error(`agent name "${agent.name}" must be kebab-case`);
  const names = new Set<string>();
  for (const t of agent.tools ?? []) {
    if (names.has(t.name)) throw new Error(`agent ${agent.name} declares tool ${t.name} twice`);
    names.add(t.name);
  }
  return {
    kind: 'agent',
    name: agent.name,
    instructions: agent.instructions,
    input: agent.input,
    output: agent.output,
    tools: agent.tools ?? [],
    ...(agent.model ? { model: agent.model } : {}),
    limits: { ...DEFAULT_LIMITS, ...agent.limits },
  };
}

/** The runtime that executes an agent step; the engine knows only this. */
export interface AgentRunner {
  run<I, O>(
    agent: Agent<I, O>,
    input: I,
    /**
     * `workflow` picks the configured provider and model for the agent in that workflow. `log` receives the model and
     * tool call documents of this run and of agents it runs as tools (default: written to the store as they happen).
     */
    call: { runId: string; stepId: string; workflow?: string; signal?: AbortSignal; log?: CallLog },
  ): Promise<{ output: O; usage: Usage; turns: number }>;
}
