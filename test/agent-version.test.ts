import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentAsTool } from '../src/agents/as-tool.js';
import { type Agent, defineAgent, defineTool } from '../src/agents/define.js';
import { agentVersion, promptVersion } from '../src/agents/version.js';

const lookup = defineTool({
  name: 'get_charge',
  description: 'Looks up a card charge by id',
  input: z.object({ chargeId: z.string() }),
  run: async () => ({ amount: 12 }),
});

type AgentSpec = Parameters<typeof defineAgent<unknown, unknown>>[0];

const spec = (over: Partial<AgentSpec> = {}): AgentSpec => ({
  name: 'analyst',
  instructions: 'Read the dispute and say whether the charge looks like fraud.',
  input: z.object({ description: z.string() }),
  output: z.object({ fraud: z.boolean(), reason: z.string().describe('one sentence') }),
  tools: [lookup],
  model: 'gpt-4.1-mini',
  limits: { maxTurns: 4 },
  ...over,
});

const versionOf = (over: Partial<AgentSpec> = {}, model?: string) =>
  agentVersion(defineAgent(spec(over)) as Agent<unknown, unknown>, model);

describe('agentVersion', () => {
  it('is 12 hex characters, the same for the same agent and for an equal agent defined again', () => {
    const agent = defineAgent(spec()) as Agent<unknown, unknown>;
    expect(agentVersion(agent)).toMatch(/^[0-9a-f]{12}$/);
    expect(agentVersion(agent)).toBe(agentVersion(agent));
    expect(versionOf()).toBe(agentVersion(agent));
  });

  it('does not depend on the order keys were written in', () => {
    const agent = defineAgent(spec()) as Agent<unknown, unknown>;
    // An agent built by hand (Agent is a plain interface), its limits written in another order.
    const limits = { timeoutMs: agent.limits.timeoutMs, maxOutputTokens: agent.limits.maxOutputTokens, maxTurns: 4 };
    expect(Object.keys(limits)).not.toEqual(Object.keys(agent.limits));
    expect(agentVersion({ ...agent, limits })).toBe(agentVersion(agent));
  });

  it('changes when output fields change order: the model writes them in that order', () => {
    const reasonFirst = z.object({ reason: z.string().describe('one sentence'), fraud: z.boolean() });
    expect(versionOf({ output: reasonFirst })).not.toBe(versionOf());
  });

  it('changes with the instructions', () => {
    expect(versionOf({ instructions: 'Say whether the charge is fraud. Be brief.' })).not.toBe(versionOf());
  });

  it('changes with the input or output schema, a field description included', () => {
    expect(versionOf({ input: z.object({ description: z.string(), amount: z.number() }) })).not.toBe(versionOf());
    expect(
      versionOf({ output: z.object({ fraud: z.boolean(), reason: z.string().describe('two sentences') }) }),
    ).not.toBe(versionOf());
  });

  it("changes with a tool's description or arguments", () => {
    const described = defineTool({ ...lookup, description: 'Looks up a charge and its merchant by id' });
    const argued = defineTool({ ...lookup, input: z.object({ chargeId: z.string(), merchant: z.string() }) });
    expect(versionOf({ tools: [described] })).not.toBe(versionOf());
    expect(versionOf({ tools: [argued] })).not.toBe(versionOf());
    expect(versionOf({ tools: [] })).not.toBe(versionOf());
  });

  it('changes with the limits', () => {
    expect(versionOf({ limits: { maxTurns: 5 } })).not.toBe(versionOf());
  });

  it('changes with the model: the agent’s own, or the one the step resolved', () => {
    const agent = defineAgent(spec()) as Agent<unknown, unknown>;
    expect(versionOf({ model: 'gpt-4.1' })).not.toBe(versionOf());
    expect(agentVersion(agent, 'gpt-4.1')).not.toBe(agentVersion(agent));
    expect(agentVersion(agent, 'gpt-4.1-mini')).toBe(agentVersion(agent));
    expect(agentVersion(agent, 'gpt-4.1')).toBe(versionOf({ model: 'gpt-4.1' }));
  });

  it('changes when a specialist handed over as a tool changes its own instructions', () => {
    const specialist = (instructions: string) =>
      defineAgent({
        name: 'language-analyst',
        instructions,
        input: z.object({ text: z.string() }),
        output: z.object({ tone: z.string() }),
      });
    const manager = (instructions: string) =>
      versionOf({ tools: [agentAsTool(specialist(instructions), { description: 'Classifies tone' })] });
    expect(manager('Classify the tone.')).toBe(manager('Classify the tone.'));
    expect(manager('Classify the tone and intent.')).not.toBe(manager('Classify the tone.'));
  });

  it('is the same in another process', () => {
    const script = `
      import { z } from 'zod';
      import { defineAgent } from './src/agents/define.ts';
      import { agentVersion } from './src/agents/version.ts';
      const agent = defineAgent({
        name: 'analyst',
        model: 'gpt-4.1-mini',
        limits: { maxTurns: 4 },
        output: z.object({ fraud: z.boolean(), reason: z.string().describe('one sentence') }),
        input: z.object({ description: z.string() }),
        instructions: 'Read the dispute and say whether the charge looks like fraud.',
        tools: [],
      });
      process.stdout.write(agentVersion(agent));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    expect(child.stdout).toBe(versionOf({ tools: [] }));
  });
});

describe('promptVersion', () => {
  it('is one hash over the pairs, whatever their order, and changes with any version', () => {
    const a = promptVersion({ 'dispute-manager': '3f2a9c0b1d2e', 'language-analyst': '0123456789ab' });
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(promptVersion({ 'language-analyst': '0123456789ab', 'dispute-manager': '3f2a9c0b1d2e' })).toBe(a);
    expect(promptVersion({ 'dispute-manager': '9b1c0d4e5f6a', 'language-analyst': '0123456789ab' })).not.toBe(a);
    expect(promptVersion({ 'dispute-manager': '3f2a9c0b1d2e' })).not.toBe(a);
  });
});
