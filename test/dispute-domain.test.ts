import mongoose, { type Connection } from 'mongoose';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDisputeAgents, type DisputeAgents, type ManagerInput } from '../agents/disputes/agents.js';
import { createDisputeData, seedSampleData } from '../agents/disputes/data.js';
import { disputeInputSchema } from '../agents/disputes/input.js';
import { decideDispute } from '../agents/disputes/offline-manager.js';
import { disputeResponders } from '../agents/disputes/offline-rules.js';
import { SAMPLE_DISPUTES, type SampleName } from '../agents/disputes/samples.js';
import { createDisputeTools } from '../agents/disputes/tools.js';
import type { Agent, Tool } from '../src/agents/define.js';
import { compileAgent } from '../src/agents/structured-output.js';
import { fenceUntrusted } from '../src/agents/untrusted.js';
import { startOfflineModel } from '../src/offline-model/index.js';
import { testMongoUri } from './support/env.js';

let connection: Connection;
let agents: DisputeAgents;
// A fixed clock: account ages, and so risk scores, do not drift with the date the suite runs.
const NOW = new Date('2026-11-26T12:00:00Z');
const responders = new Map(disputeResponders().map((r) => [r.agent, r]));

beforeAll(async () => {
  connection = mongoose.createConnection(testMongoUri('disputedomain'), { serverSelectionTimeoutMS: 5_000 });
  await connection.asPromise();
  await seedSampleData(connection);
  await seedSampleData(connection); // idempotent: the second run must change nothing
  agents = createDisputeAgents(createDisputeTools(createDisputeData(connection), { now: () => NOW }));
});
afterAll(async () => {
  await connection?.dropDatabase().catch(() => undefined);
  await connection?.close();
});

/** Plays one agent with its offline responder, running the real tools, the way the runtime loops. */
async function play<I, O>(agent: Agent<I, O>, rawInput: unknown): Promise<O> {
  const responder = responders.get(agent.name);
  if (!responder) throw new Error(`no responder for ${agent.name}`);
  const input = JSON.parse(JSON.stringify(agent.input.parse(rawInput))) as unknown;
  const toolResults: { name: string; arguments: unknown; result: unknown }[] = [];
  for (let turn = 0; turn < agent.limits.maxTurns; turn++) {
    const reply = await responder.respond({
      input,
      messages: [],
      toolResults,
      availableTools: agent.tools.map((t) => t.name),
    });
    if ('output' in reply) return agent.output.parse(reply.output);
    for (const call of reply.toolCalls) {
      const tool = agent.tools.find((t) => t.name === call.name) as Tool<unknown, unknown>;
      const result = await tool.run(tool.input.parse(call.arguments), undefined as never);
      // Through JSON, as the runtime sends tool results to the model.
      toolResults.push({ name: call.name, arguments: call.arguments, result: JSON.parse(JSON.stringify(result)) });
    }
  }
  throw new Error(`${agent.name} did not answer within ${agent.limits.maxTurns} turns`);
}

async function runDispute(name: SampleName) {
  const dispute = disputeInputSchema.parse(SAMPLE_DISPUTES[name]);
  const [evidence, risk, language] = await Promise.all([
    play(agents.evidenceCollector, dispute),
    play(agents.accountRisk, dispute),
    play(agents.languageAnalyst, dispute),
  ]);
  const proposal = await play(agents.disputeManager, { dispute, evidence, risk, language });
  return { dispute, evidence, risk, language, proposal };
}

describe('sample data', () => {
  it('seeds the same documents however often it runs', async () => {
    const counts = await Promise.all(
      ['sample_customers', 'sample_charges', 'sample_usage', 'sample_disputes'].map((c) =>
        connection.collection(c).countDocuments(),
      ),
    );
    expect(counts).toEqual([8, 16, 54, 2]);
  });

  it('reads charges, customers, usage and history back as plain objects', async () => {
    const data = createDisputeData(connection);
    const charge = await data.charge('ch_1002');
    expect(charge).toMatchObject({ _id: 'ch_1002', amount: 49, currency: 'EUR', customerEmail: 'ada@example.com' });
    expect(charge?.createdAt).toBeInstanceOf(Date);
    expect(await data.charge('ch_nope')).toBeNull();
    expect((await data.chargesFor('ADA@example.com')).map((c) => c._id)).toEqual(['ch_1002', 'ch_1001', 'ch_1003']);
    expect((await data.customer('mallory@example.com'))?.flags).toContain('signed_up_via_vpn');
    expect(await data.usageSince('grace@example.com', new Date('2026-10-15T14:02:11Z'))).toHaveLength(14);
    expect((await data.disputeHistory('mallory@example.com')).map((d) => d._id)).toEqual(['dp_9002', 'dp_9001']);
  });
});

describe('dispute tools', () => {
  const tools = () => createDisputeTools(createDisputeData(connection), { now: () => NOW });
  const ctx = undefined as never;

  it('returns JSON-friendly views of the seeded data', async () => {
    const t = tools();
    expect(await t.getCharge.run({ chargeId: 'ch_5001' }, ctx)).toMatchObject({
      found: true,
      charge: { id: 'ch_5001', fulfillment: { kind: 'shipment', deliveredAt: null, carrier: 'Royal Mail' } },
    });
    expect(await t.getCharge.run({ chargeId: 'ch_missing' }, ctx)).toEqual({ found: false, charge: null });
    const usage = await t.getProductUsage.run(
      { customerEmail: 'chen@example.com', since: '2026-11-01T00:00:05Z' },
      ctx,
    );
    expect(usage).toMatchObject({ count: 0, lastActiveAt: null });
    const customer = await t.getCustomer.run({ customerEmail: 'sam@example.com' }, ctx);
    expect(customer.customer?.accountAgeDays).toBe(6);
  });

  it('answers the static tables without data', async () => {
    const t = tools();
    expect(await t.getReasonCode.run({ reason: 'Double charged' }, ctx)).toMatchObject({ visa: '12.6.1' });
    expect(await t.getRefundPolicy.run({}, ctx)).toMatchObject({ reviewAboveAmount: 500 });
  });
});

describe('offline dispute agents', () => {
  it('sends the demo case to a person, leaning to refund', async () => {
    const { proposal, language } = await runDispute('needsReview');
    expect(language.intent).toBe('not_as_described');
    expect(proposal).toMatchObject({ outcome: 'review', leaning: 'accept' });
    expect(proposal.reply).toContain('Linus Nakamura');
    expect(proposal.reply).toContain('89.00 EUR');
  });

  it('accepts a confirmed duplicate charge', async () => {
    const { proposal, evidence } = await runDispute('clearAccept');
    expect(evidence.duplicateOf).toBe('ch_1001');
    expect(proposal).toMatchObject({ outcome: 'accept', leaning: 'accept', confidence: 0.95 });
    expect(proposal.reply).toContain('refunding 49.00 EUR');
  });

  it('rejects a fraud claim on an account used heavily after the charge', async () => {
    const { proposal, evidence, risk } = await runDispute('clearReject');
    expect(evidence.usageEventsAfterCharge).toBe(14);
    expect(risk.riskScore).toBeLessThan(40);
    expect(proposal).toMatchObject({ outcome: 'reject', leaning: 'reject', confidence: 0.85 });
    expect(proposal.reply).toContain('the charge stands');
  });

  it('treats instructions inside the description as data and asks a person', async () => {
    const { proposal, language, risk } = await runDispute('injection');
    expect(language.suspiciousInstructions).toBe(true);
    expect(language.intent).toBe('fraud_claim');
    expect(risk.riskScore).toBeGreaterThanOrEqual(70);
    expect(proposal).toMatchObject({ outcome: 'review', leaning: 'reject' });
    expect(proposal.reply).not.toMatch(/refunding/);
  });

  it('answers the same way every time', async () => {
    const a = await runDispute('needsReview');
    const b = await runDispute('needsReview');
    expect(b.proposal).toEqual(a.proposal);
  });
});

describe('dispute-manager rules', () => {
  const base = async (): Promise<ManagerInput> => {
    const { dispute, evidence, risk, language } = await runDispute('clearReject');
    return { dispute, evidence, risk, language };
  };

  it('refunds a shipment without confirmed delivery', async () => {
    const input = await base();
    input.dispute.reason = 'not_received';
    input.evidence.deliveryConfirmed = false;
    expect(decideDispute(input)).toMatchObject({ outcome: 'accept', confidence: 0.9 });
  });

  it('asks a person when the charge cannot be found', async () => {
    const input = await base();
    input.evidence.chargeFound = false;
    expect(decideDispute(input).outcome).toBe('review');
  });

  it('asks a person before refunding more than the policy allows alone', async () => {
    const input = await base();
    input.evidence.usageEventsAfterCharge = 0;
    input.dispute.amount = 900;
    expect(decideDispute(input)).toMatchObject({ outcome: 'review', leaning: 'accept' });
  });
});

describe('through the offline model and the real openai client', () => {
  it('plays the tool loop from fenced input to a schema-valid answer', async () => {
    const model = await startOfflineModel({ latencyMs: 0, responders: disputeResponders() });
    try {
      const client = new OpenAI({ baseURL: model.baseUrl, apiKey: 'offline', maxRetries: 0 });
      const agent = agents.evidenceCollector;
      const input = agent.input.parse(disputeInputSchema.parse(SAMPLE_DISPUTES.clearAccept));
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: agent.instructions },
        { role: 'user', content: fenceUntrusted('input', input) },
      ];
      // The request pieces exactly as the agent runtime builds them (strict schemas for output and tools).
      const { responseFormat, tools } = compileAgent(agent);
      for (let turn = 0; turn < agent.limits.maxTurns; turn++) {
        const res = await client.chat.completions.create({
          model: 'offline',
          messages,
          tools,
          response_format: responseFormat,
        });
        const message = res.choices[0]?.message;
        if (!message?.tool_calls) {
          const output = agent.output.parse(JSON.parse(message?.content ?? ''));
          expect(output.duplicateOf).toBe('ch_1001');
          expect(turn).toBe(2); // charge and charges, then usage, then the answer
          return;
        }
        messages.push({ role: 'assistant', content: null, tool_calls: message.tool_calls });
        for (const call of message.tool_calls) {
          if (call.type !== 'function') continue;
          const tool = agent.tools.find((t) => t.name === call.function.name) as Tool<unknown, unknown>;
          const result = await tool.run(tool.input.parse(JSON.parse(call.function.arguments)), undefined as never);
          messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify(result) });
        }
      }
      throw new Error('no answer');
    } finally {
      await model.close();
    }
  });
});

describe('output schemas', () => {
  // OpenAI strict structured outputs: every property of every object listed in `required`.
  function optionalProperties(node: unknown, path = ''): string[] {
    if (Array.isArray(node)) return node.flatMap((n, i) => optionalProperties(n, `${path}[${i}]`));
    if (typeof node !== 'object' || node === null) return [];
    const obj = node as Record<string, unknown>;
    const found: string[] = [];
    if (obj.properties && typeof obj.properties === 'object') {
      const required = new Set(Array.isArray(obj.required) ? obj.required : []);
      for (const key of Object.keys(obj.properties)) if (!required.has(key)) found.push(`${path}.${key}`);
    }
    for (const [key, value] of Object.entries(obj)) found.push(...optionalProperties(value, `${path}/${key}`));
    return found;
  }

  it.each(['evidenceCollector', 'accountRisk', 'languageAnalyst', 'disputeManager'] as const)(
    '%s output converts to a strict-compatible JSON Schema',
    (name) => {
      const json = z.toJSONSchema(agents[name].output, { io: 'input' });
      expect(optionalProperties(json)).toEqual([]);
      expect(JSON.stringify(json)).not.toMatch(/"pattern"|"format"/);
      // and the runtime's own strict rewrite accepts the agent, tool inputs included
      expect(() => compileAgent(agents[name] as unknown as Agent)).not.toThrow();
    },
  );
});
