import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyPolicy, type ProposalFacts } from '../agents/disputes/policy.js';
import { SAMPLE_DISPUTES, type SampleName } from '../agents/disputes/samples.js';
import type { RunView } from '../src/engine/types.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';

/*
 * The autonomy policy through the real flow, one app per AUTONOMY ceiling. The card-dispute workflow allows itself
 * up to `autonomous`, so AUTONOMY decides the level in force.
 */

async function startSample(t: TestApp, name: SampleName): Promise<{ runId: string; run: RunView }> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES[name]);
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  const run = await t.waitForRun(runId, (r) => hasPendingCheckpoint(r) || isFinished(r));
  return { runId, run };
}

async function approve(t: TestApp, run: RunView): Promise<RunView> {
  const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, {
    body: { decision: 'approve', actor: 'lead@example.com' },
  });
  expect(res.status).toBe(200);
  return t.waitForRun(run.id, isFinished);
}

const customerOf = (name: SampleName) => SAMPLE_DISPUTES[name].customerEmail.toLowerCase();

describe('AUTONOMY=manual (the default)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'automanual' });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('makes even a clear-cut duplicate wait for a person', async () => {
    const { run } = await startSample(t, 'clearAccept');
    expect(t.app.config.autonomy).toBe('manual');
    expect(run.status).toBe('waiting');
    expect(run.checkpoints).toMatchObject([{ name: 'review', status: 'pending' }]);
    expect(t.smtp.messages.filter((m) => m.to.includes(customerOf('clearAccept')))).toHaveLength(0);
  });
});

describe('AUTONOMY=autonomous', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'autoauto', env: { AUTONOMY: 'autonomous' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  describe('a clear-cut duplicate', () => {
    let runId: string;
    let run: RunView;
    beforeAll(async () => {
      ({ runId, run } = await startSample(t, 'clearAccept'));
    });

    it('completes without a checkpoint', () => {
      expect(run.status).toBe('completed');
      expect(run.checkpoints).toHaveLength(0);
      expect(run.steps.some((s) => s.kind === 'checkpoint')).toBe(false);
    });

    it('is decided by the policy', () => {
      expect(run.output).toMatchObject({ outcome: 'accept', decidedBy: 'policy', channel: 'policy', replySent: true });
    });

    it("emails the manager's reply to the customer once", async () => {
      const mail = await t.smtp.waitFor((m) => m.to.includes(customerOf('clearAccept')));
      expect(mail.text).toContain('refunding 49.00 EUR');
      expect(t.smtp.messages.filter((m) => m.to.includes(customerOf('clearAccept')))).toHaveLength(1);
    });

    it('records the outcome with the autonomy level in force', async () => {
      expect(await t.app.outcomes.get(runId)).toMatchObject({
        proposed: 'accept',
        final: 'accept',
        decidedBy: 'policy',
        channel: 'policy',
        edited: false,
        autonomyLevel: 'autonomous',
        wouldAutoDecide: true,
      });
    });
  });

  it('still makes a case the manager sends to review wait for a person', async () => {
    const { run } = await startSample(t, 'needsReview');
    expect(run.status).toBe('waiting');
    expect(run.checkpoints).toHaveLength(1);
  });

  it('never lets a description that instructs the AI decide its own case', async () => {
    const { runId, run } = await startSample(t, 'injection');
    expect(run.status).toBe('waiting');
    expect(run.checkpoints).toHaveLength(1);
    expect(await t.app.outcomes.get(runId)).toBeNull();
    expect(t.smtp.messages.filter((m) => m.to.includes(customerOf('injection')))).toHaveLength(0);
  });
});

describe('AUTONOMY=shadow', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'autoshadow', env: { AUTONOMY: 'shadow' } });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('makes a clear-cut duplicate wait, then records that the AI would have decided alone', async () => {
    const { runId, run } = await startSample(t, 'clearAccept');
    expect(run.status).toBe('waiting');
    const done = await approve(t, run);
    expect(done.output).toMatchObject({ outcome: 'accept', decidedBy: 'lead@example.com', agreedWithAi: true });
    expect(await t.app.outcomes.get(runId)).toMatchObject({ autonomyLevel: 'shadow', wouldAutoDecide: true });
  });

  it('records that the AI would have asked too for a case it sends to review', async () => {
    const { runId, run } = await startSample(t, 'needsReview');
    expect(run.status).toBe('waiting');
    await approve(t, run);
    expect(await t.app.outcomes.get(runId)).toMatchObject({ autonomyLevel: 'shadow', wouldAutoDecide: false });
  });
});

describe('applyPolicy', () => {
  const clearCut: ProposalFacts = { outcome: 'accept', confidence: 0.95, amount: 49, riskScore: 10 };
  const largerCase: ProposalFacts = { outcome: 'accept', confidence: 0.85, amount: 900, riskScore: 50 };

  it('caps the workflow level at the AUTONOMY ceiling', () => {
    expect(applyPolicy('autonomous', 'shadow', clearCut)).toMatchObject({ level: 'shadow', auto: false });
  });

  it('caps the AUTONOMY ceiling at the workflow level', () => {
    expect(applyPolicy('assisted', 'autonomous', clearCut)).toMatchObject({ level: 'assisted', auto: true });
  });

  it('lets nothing stand under a manual ceiling, however clear-cut', () => {
    expect(applyPolicy('autonomous', 'manual', clearCut)).toMatchObject({
      level: 'manual',
      auto: false,
      wouldAutoDecide: true,
    });
  });

  it('uses the wider limits only when both levels are autonomous', () => {
    expect(applyPolicy('autonomous', 'autonomous', largerCase)).toMatchObject({ level: 'autonomous', auto: true });
    expect(applyPolicy('assisted', 'autonomous', largerCase)).toMatchObject({
      level: 'assisted',
      auto: false,
      reason: expect.stringContaining('confidence 85% is below 90%'),
    });
  });

  it('never lets a proposal of review stand, even when autonomous', () => {
    const verdict = applyPolicy('autonomous', 'autonomous', { ...clearCut, outcome: 'review' });
    expect(verdict).toMatchObject({ auto: false, wouldAutoDecide: false });
    expect(verdict.reason).toContain('the AI asks for a person');
  });

  it('names the amount limit that blocked a case', () => {
    expect(applyPolicy('assisted', 'assisted', { ...clearCut, amount: 251 }).reason).toContain(
      'the amount is above 250',
    );
  });

  it('names the risk limit that blocked a case', () => {
    expect(applyPolicy('autonomous', 'autonomous', { ...clearCut, riskScore: 61 }).reason).toContain(
      'risk score 61 is above 60',
    );
  });

  it('records in shadow what it would have done without acting on it', () => {
    expect(applyPolicy('assisted', 'shadow', clearCut)).toMatchObject({
      level: 'shadow',
      auto: false,
      wouldAutoDecide: true,
      reason: expect.stringContaining('would have decided alone'),
    });
  });
});
