import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { agentVersion } from '../src/agents/version.js';
import type { RunView } from '../src/engine/types.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({ label: 'run-agent-version' });
});
afterAll(async () => {
  await t?.close();
});

describe('a run records the agent versions it used', () => {
  it('shows on each ended agent step the version of the agent with the model its calls went to', {
    timeout: 120_000,
  }, async () => {
    const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
    const { runId } = (await res.json()) as { runId: string };
    await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r), 90_000);

    const view = (await (await t.api(`/api/runs/${runId}`)).json()) as RunView;
    const agentSteps = view.steps.filter((s) => s.kind === 'agent');
    expect(agentSteps.length).toBeGreaterThan(0);
    for (const step of agentSteps) {
      const agent = t.app.deps.agents.get(step.name);
      if (!agent) throw new Error(`agent ${step.name} is not registered`);
      const call = await t.app.store.modelCalls.findOne({ runId, stepId: step.id, agent: step.name }).lean();
      if (!call) throw new Error(`no model call of step ${step.id}`);
      expect(step.agentVersion).toBe(agentVersion(agent, call.model));
      // The modules' agents name no model: the version hashes the one configuration resolved, not "none".
      if (agent.model === undefined) expect(step.agentVersion).not.toBe(agentVersion(agent));
    }
    expect(view.steps.filter((s) => s.kind !== 'agent').every((s) => s.agentVersion === undefined)).toBe(true);
  });
});
