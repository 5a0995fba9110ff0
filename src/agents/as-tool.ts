import { type Agent, defineTool, type Tool } from './define.js';

/**
 * Hands an agent to another agent as a tool (orchestrator and specialists). The tool's arguments are the agent's
 * input; it runs through the same runtime, so its model calls are journaled and its usage counts for the caller.
 *
 * @example
 * const manager = defineAgent({ ..., tools: [agentAsTool(languageAnalyst, { description: 'Classifies tone' })] });
 */
export function agentAsTool<I, O>(agent: Agent<I, O>, options: { name?: string; description: string }): Tool<I, O> {
  const tool = defineTool({
    name: options.name ?? agent.name,
    description: options.description,
    input: agent.input,
    run: (args, ctx) => ctx.runAgent(agent, args),
  });
  return { ...tool, agent };
}
