import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { BillingStandin } from '../agents/refunds/billing/standin.js';
import { SAMPLE_REFUNDS } from '../agents/refunds/samples.js';
import { ConfigError } from '../src/config-error.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { countersign } from './support/cli.js';
import { chatCompletion, type MockLlm, startMockLlm } from './support/mock-llm.js';
import { refundDeployment, startRefund, startSampleBilling, writeSettingsFile } from './support/refund-app.js';

// Both built-in processes in one deployment, as the composition root wires them from an operator's file: the
// refund's `policy-check` agent on a third-party OpenAI-compatible server (@dwmkerr/mock-llm, from npm), every
// other agent of both processes on the default provider (the offline model).

const COMPLETIONS = '/v1/chat/completions';
const MODEL = 'mock-model';
/** A request for policy-check's own strict schema, on the model the file names: nothing else gets an answer. */
const forPolicyCheck = `body.model == '${MODEL}' && body.response_format.json_schema.name == 'policy-check'`;
/** The second turn carries the tool's result back to this server. */
const afterToolResult = `${forPolicyCheck} && body.messages[-1].role == 'tool'`;

/** Worded so that no offline responder could produce it: its presence in the checkpoint proves who answered. */
const MOCK_RULE = 'R1: delivered 12 days ago, within 30 days; up to the full 64 (checked on mock-llm)';
const policyFindings = {
  orderFound: true,
  product: 'Burr grinder M2',
  daysSinceDelivery: 12,
  reasonCategory: 'defect',
  suspiciousInstructions: false,
  maxAllowed: 64,
  withinPolicy: true,
  rulesApplied: [MOCK_RULE],
  summary: 'Within 30 days of delivery; the full 64 EUR is allowed.',
};

const policyCheckRules = [
  {
    path: COMPLETIONS,
    method: 'POST',
    match: forPolicyCheck,
    sequence: 0,
    response: {
      status: 200,
      content: chatCompletion(
        {
          content: null,
          tool_calls: [
            {
              id: 'call_mock_order',
              type: 'function',
              function: { name: 'get_order', arguments: JSON.stringify({ orderId: 'ord_5101' }) },
            },
          ],
        },
        'tool_calls',
      ),
    },
  },
  {
    path: COMPLETIONS,
    method: 'POST',
    match: afterToolResult,
    sequence: 1,
    response: { status: 200, content: chatCompletion({ content: JSON.stringify(policyFindings) }) },
  },
];

const thirdParty = (baseUrl: string) => ({
  baseUrl,
  apiKey: 'x',
  // The rules above answer in strict JSON-schema mode and with tool calls; declared as an operator would.
  supports: { strictJsonSchema: true, jsonMode: true, tools: true },
});

let mock: MockLlm;
let billing: BillingStandin;
let t: TestApp;

beforeAll(async () => {
  mock = await startMockLlm();
  await mock.setRules(policyCheckRules);
  billing = await startSampleBilling();
  const configPath = writeSettingsFile('providers-in-app', {
    providers: { thirdparty: thirdParty(mock.baseUrl) },
    workflows: { 'refund-request': { agents: { 'policy-check': { provider: 'thirdparty', model: MODEL } } } },
  });
  t = await startTestApp({
    label: 'providers-in-app',
    modules: refundDeployment(billing),
    env: { COUNTERSIGN_CONFIG: configPath },
  });
}, 60_000);
afterAll(async () => {
  await t?.close();
  await billing?.close();
  await mock?.close();
});

const atCheckpointOrDone = (run: Parameters<typeof isFinished>[0]) => hasPendingCheckpoint(run) || isFinished(run);

describe('model providers from the configuration file, in the running app', () => {
  it('sends policy-check to the third-party server and every other agent of both processes to the default', async () => {
    const [refundId, disputeId] = await Promise.all([
      startRefund(t, SAMPLE_REFUNDS.smallApprove),
      t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview).then(async (res) => {
        expect(res.status).toBe(202);
        return ((await res.json()) as { runId: string }).runId;
      }),
    ]);
    const [refund, dispute] = await Promise.all([
      t.waitForRun(refundId, atCheckpointOrDone, 90_000),
      t.waitForRun(disputeId, atCheckpointOrDone, 90_000),
    ]);
    expect(refund.error).toBeNull();
    expect(dispute.error).toBeNull();
    expect(refund).toMatchObject({ workflow: 'refund-request', status: 'waiting' });
    expect(dispute).toMatchObject({ workflow: 'card-dispute', status: 'waiting' });
    expect(refund.steps.find((s) => s.name === 'policy-check')).toMatchObject({ kind: 'agent', status: 'completed' });

    const calls = await t.app.store.modelCalls
      .find({ runId: { $in: [refundId, disputeId] } })
      .sort({ _id: 1 })
      .lean();
    const policy = calls.filter((c) => c.agent === 'policy-check');
    // Two turns on mock-llm: its tool call, then its answer to the tool's result; the model is the server's echo.
    expect(policy).toMatchObject([
      { runId: refundId, provider: 'thirdparty', model: MODEL, outputMode: 'json_schema', turn: 1, status: 'ok' },
      { runId: refundId, provider: 'thirdparty', model: MODEL, outputMode: 'json_schema', turn: 2, status: 'ok' },
    ]);
    const others = calls.filter((c) => c.agent !== 'policy-check');
    const agentsOf = (runId: string) => [...new Set(others.filter((c) => c.runId === runId).map((c) => c.agent))];
    expect(agentsOf(refundId).sort()).toEqual(['account-history', 'refund-advisor']);
    expect(agentsOf(disputeId)).toEqual(
      expect.arrayContaining(['evidence-collector', 'account-risk', 'language-analyst', 'dispute-manager']),
    );
    expect(others.map((c) => `${c.agent}: ${c.provider} ${c.model}`)).toEqual(
      others.map((c) => `${c.agent}: default offline`),
    );

    // mock-llm asked for the tool, and the tool ran in this app against the sample data.
    const tools = await t.app.store.toolCalls.find({ runId: refundId, agent: 'policy-check' }).lean();
    expect(tools).toMatchObject([{ tool: 'get_order', arguments: { orderId: 'ord_5101' }, outcome: 'ok' }]);
    // mock-llm's answer is what the approvers read.
    const checkpointId = refund.checkpoints.find((c) => c.status === 'pending')?.id ?? '';
    const checkpoint = await t.app.store.checkpoints.findById(checkpointId).lean();
    const written = checkpoint?.evidence.find((s) => s.title === 'Written policy (policy-check)');
    expect(written?.items).toContainEqual({ label: 'Rule 1', value: MOCK_RULE });
    expect(checkpoint?.values).toMatchObject({ decision: 'approve', amount: 64 });
  }, 120_000);
});

describe('an agent naming a provider the file does not define', () => {
  const settings = (mockUrl: string) => ({
    providers: { thirdparty: thirdParty(mockUrl) },
    workflows: { 'refund-request': { agents: { 'policy-check': { provider: 'thridparty', model: MODEL } } } },
  });
  const expectedLine = (path: string) =>
    `COUNTERSIGN_CONFIG (${path}) workflows.refund-request.agents.policy-check.provider: ` +
    'unknown provider "thridparty" (providers: "thirdparty")';

  it('refuses to build the app: the file is rejected when it loads, before anything connects', async () => {
    const path = writeSettingsFile('unknown-provider', settings(mock.baseUrl));
    const err = await startTestApp({
      label: 'unknown-provider',
      modules: refundDeployment(billing),
      env: { COUNTERSIGN_CONFIG: path },
      smtp: t.smtp,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([expectedLine(path)]);
  });

  it('makes `countersign start` exit 2 with that one line and no stack trace', async () => {
    const path = writeSettingsFile('unknown-provider-cli', settings(mock.baseUrl));
    const result = await countersign(['start'], {
      MONGODB_URI: 'mongodb://127.0.0.1:1/countersign',
      REDIS_URL: 'redis://127.0.0.1:1',
      APP_SECRET: 'an-app-secret-of-at-least-32-characters',
      COUNTERSIGN_API_TOKEN: 'an-api-token-0123456789',
      COUNTERSIGN_CONFIG: path,
    });
    expect(result.code).toBe(2);
    const fileLines = result.stderr
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('COUNTERSIGN_CONFIG'));
    expect(fileLines).toEqual([expectedLine(path)]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 60_000);
});

describe('a provider named like the default one', () => {
  it('refuses to build the app with one configuration line, not a crash after everything opened', async () => {
    const path = writeSettingsFile('default-provider', { providers: { default: thirdParty(mock.baseUrl) } });
    const err = await startTestApp({
      label: 'default-provider',
      modules: refundDeployment(billing),
      env: { COUNTERSIGN_CONFIG: path },
      smtp: t.smtp,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      `COUNTERSIGN_CONFIG (${path}) providers.default: the name "default" is reserved for the provider built from ` +
        'OPENAI_* (or the offline model)',
    ]);
  });
});
