import { describe, expect, it } from 'vitest';
import {
  type AccountHistory,
  advisorInputSchema,
  createRefundAgents,
  type PolicyFindings,
  type RefundProposal,
} from '../agents/refunds/agents.js';
import type { RefundData } from '../agents/refunds/data.js';
import { refundInputSchema } from '../agents/refunds/input.js';
import { refundFromMessage } from '../agents/refunds/module.js';
import { refundResponders } from '../agents/refunds/offline-rules.js';
import { sampleBusiness } from '../agents/refunds/sample-data.js';
import { SAMPLE_REFUNDS, type SampleRefundName } from '../agents/refunds/samples.js';
import { createRefundTools } from '../agents/refunds/tools.js';
import { refundAutonomyRule } from '../agents/refunds/workflow.js';
import type { Tool } from '../src/agents/define.js';
import type { Responder, ToolResult } from '../src/offline-model/index.js';

// The sample business in memory, as of a fixed day: the rules read ages from the tools, never from the clock.
const TODAY = new Date('2026-11-30T10:00:00Z');
const business = sampleBusiness(TODAY);
const data: RefundData = {
  account: async (e) => business.accounts.find((a) => a._id === e.toLowerCase()) ?? null,
  order: async (id) => business.orders.find((o) => o._id === id) ?? null,
  ordersFor: async (e) =>
    business.orders.filter((o) => o.customerEmail === e).sort((a, b) => +b.orderedAt - +a.orderedAt),
  adjustmentsFor: async (e) => business.adjustments.filter((a) => a.customerEmail === e).sort((a, b) => +b.at - +a.at),
};
const agents = createRefundAgents(createRefundTools(data, { now: () => TODAY }));
const responders = new Map(refundResponders().map((r) => [r.agent, r] as const));

/**
 * Plays one agent the way the runtime does: offer its tools, run the tools it asks for, hand the results back,
 * until it answers. Fails when it asks for a tool it was not given or loops.
 */
async function play<O>(
  agent: { name: string; tools: readonly Tool<unknown, unknown>[]; output: { parse(v: unknown): O } },
  input: unknown,
): Promise<O> {
  const responder = responders.get(agent.name) as Responder;
  const toolResults: ToolResult[] = [];
  const availableTools = agent.tools.map((t) => t.name);
  for (let turn = 0; turn < 5; turn++) {
    const reply = await responder.respond({ input, messages: [], toolResults, availableTools });
    if ('output' in reply) return agent.output.parse(reply.output);
    for (const call of reply.toolCalls) {
      const tool = agent.tools.find((t) => t.name === call.name);
      if (!tool) throw new Error(`${agent.name} asked for undeclared tool ${call.name}`);
      const result = await tool.run(tool.input.parse(call.arguments), {} as never);
      toolResults.push({ name: call.name, arguments: call.arguments, result });
    }
  }
  throw new Error(`${agent.name} did not answer in 5 turns`);
}

async function propose(name: SampleRefundName) {
  const request = refundInputSchema.parse(SAMPLE_REFUNDS[name]);
  const [history, policy] = await Promise.all([
    play<AccountHistory>(agents.accountHistory, request),
    play<PolicyFindings>(agents.policyCheck, request),
  ]);
  const proposal = await play<RefundProposal>(
    agents.refundAdvisor,
    advisorInputSchema.parse({ request, history, policy }),
  );
  return { request, history, policy, proposal };
}

describe('refund offline rules on the sample requests', () => {
  it('approves a small, recent refund for a loyal customer with high confidence', async () => {
    const { history, policy, proposal } = await propose('smallApprove');
    expect(history).toMatchObject({ accountFound: true, customerName: 'Maria Gonzalez', refundsLast365Days: 0 });
    expect(policy).toMatchObject({ orderFound: true, daysSinceDelivery: 12, reasonCategory: 'defect', maxAllowed: 64 });
    expect(policy.rulesApplied[0]).toMatch(/^R1:/);
    expect(proposal).toMatchObject({ decision: 'approve', amount: 64, riskScore: 0 });
    expect(proposal.confidence).toBeGreaterThanOrEqual(0.9);
    expect(proposal.customerEmail).toContain('Dear Maria Gonzalez');
    expect(proposal.customerEmail).toContain('€64.00');
  });

  it('proposes half of the order for a defect reported after 52 days', async () => {
    const { policy, proposal } = await propose('partial');
    expect(policy).toMatchObject({ daysSinceDelivery: 52, reasonCategory: 'defect', maxAllowed: 190 });
    expect(policy.rulesApplied[0]).toMatch(/^R2:/);
    expect(proposal).toMatchObject({ decision: 'partial', amount: 190 });
    expect(proposal.customerEmail).toContain('£190.00');
    expect(proposal.customerEmail).toContain('not the full £380.00');
  });

  it('denies a third refund in a year for a change of mind', async () => {
    const { history, policy, proposal } = await propose('deny');
    expect(history.refundsLast365Days).toBe(2);
    expect(history.riskScore).toBeGreaterThanOrEqual(60);
    expect(policy.maxAllowed).toBe(0);
    expect(policy.rulesApplied.some((r) => r.startsWith('R5:'))).toBe(true);
    expect(proposal).toMatchObject({ decision: 'deny', amount: 0 });
    expect(proposal.customerEmail).toContain('not able to offer a refund');
  });

  it('approves a large refund in full (the approval policy, not the advisor, sends it to finance)', async () => {
    const { policy, proposal } = await propose('largeNeedsFinance');
    expect(policy).toMatchObject({ reasonCategory: 'defect', maxAllowed: 1450, withinPolicy: true });
    expect(proposal).toMatchObject({ decision: 'approve', amount: 1450 });
  });

  it('reports instructions hidden in the reason and does not obey them', async () => {
    const { policy, proposal } = await propose('injection');
    expect(policy).toMatchObject({ suspiciousInstructions: true, reasonCategory: 'changed_mind', maxAllowed: 0 });
    expect(policy.rulesApplied[0]).toMatch(/^R3:/);
    expect(proposal).toMatchObject({ decision: 'deny', amount: 0 });
    expect(proposal.confidence).toBeLessThanOrEqual(0.5);
    expect(proposal.riskScore).toBeGreaterThanOrEqual(30);
    expect(proposal.rationale).toContain('treated as data only');
    expect(proposal.customerEmail).not.toMatch(/900/);
  });

  it('never proposes more than the order has left, and gives a goodwill credit without an order', async () => {
    const over = await propose('smallApprove').then(async () => {
      const request = refundInputSchema.parse({ ...SAMPLE_REFUNDS.smallApprove, amount: '500' });
      const policy = await play<PolicyFindings>(agents.policyCheck, request);
      const history = await play<AccountHistory>(agents.accountHistory, request);
      return play<RefundProposal>(agents.refundAdvisor, { request, history, policy });
    });
    expect(over).toMatchObject({ decision: 'partial', amount: 64 });

    const credit = refundInputSchema.parse({ ...SAMPLE_REFUNDS.smallApprove, orderId: undefined, amount: '15' });
    const policy = await play<PolicyFindings>(agents.policyCheck, credit);
    expect(policy).toMatchObject({ orderFound: false, maxAllowed: 20 });
    const tomCredit = refundInputSchema.parse({ ...SAMPLE_REFUNDS.partial, orderId: undefined, amount: '15' });
    // Tom had a goodwill credit 100 days ago: once a year only.
    expect(await play<PolicyFindings>(agents.policyCheck, tomCredit)).toMatchObject({ maxAllowed: 0 });
  });

  it('refuses an order that belongs to someone else', async () => {
    const request = refundInputSchema.parse({ ...SAMPLE_REFUNDS.smallApprove, orderId: 'ord_5401' });
    const policy = await play<PolicyFindings>(agents.policyCheck, request);
    expect(policy).toMatchObject({ orderFound: false, maxAllowed: 0 });
    expect(policy.rulesApplied[0]).toMatch(/^R4: order ord_5401 is not one of this customer's orders/);
  });
});

describe('refund input', () => {
  it('explains each bad field in its own words', () => {
    const parsed = refundInputSchema.safeParse({
      customerEmail: 'not-an-email',
      amount: '1,450',
      currency: 'euro',
      reason: '',
      requestedBy: 'x',
      orderId: '5101',
    });
    expect(parsed.success).toBe(false);
    const messages = Object.fromEntries((parsed.error?.issues ?? []).map((i) => [String(i.path[0]), i.message]));
    expect(messages).toMatchObject({
      customerEmail: 'That is not an email address: give the one the customer orders with',
      amount: 'Write the amount in major units with a dot, like "49.90" (no commas or signs)',
      currency: 'Use a three-letter ISO 4217 code like EUR, USD or GBP',
      reason: 'Say in a few words why the customer should get the money back',
      requestedBy: 'Say who asks: your email address or Slack user id',
      orderId: 'Order ids look like "ord_5101"',
    });
  });

  it('parses a parsed request to itself', () => {
    const once = refundInputSchema.parse(SAMPLE_REFUNDS.partial);
    expect(refundInputSchema.parse(once)).toEqual(once);
    expect(once).toMatchObject({ amount: 380, currency: 'GBP', customerEmail: 'tom@example.com' });
  });

  it('prefills the form from a customer message', () => {
    expect(refundFromMessage('Hi, tom@example.com here: order ord_5201 broke, please refund £380.00')).toMatchObject({
      customerEmail: 'tom@example.com',
      orderId: 'ord_5201',
      amount: '380.00',
    });
    expect(refundFromMessage('Refund 45 EUR please')).toMatchObject({ amount: '45', currency: 'EUR' });
  });
});

describe('refund autonomy rule', () => {
  const clear = {
    decision: 'approve' as const,
    amount: 40,
    confidence: 0.95,
    riskScore: 0,
    suspiciousInstructions: false,
    stages: 1,
  };
  it('lets only small, clear approvals stand, and never past a second stage', () => {
    expect(refundAutonomyRule(clear, 'assisted').auto).toBe(true);
    expect(refundAutonomyRule({ ...clear, amount: 80 }, 'assisted').auto).toBe(false);
    expect(refundAutonomyRule({ ...clear, amount: 80 }, 'autonomous').auto).toBe(true);
    expect(refundAutonomyRule({ ...clear, stages: 2 }, 'autonomous').reason).toContain('more than one stage');
    expect(refundAutonomyRule({ ...clear, decision: 'deny' }, 'autonomous').auto).toBe(false);
    expect(refundAutonomyRule({ ...clear, suspiciousInstructions: true }, 'autonomous').auto).toBe(false);
  });
});
