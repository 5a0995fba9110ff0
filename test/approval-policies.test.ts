import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { apiRoutes } from '../handlers/api.js';
import { approvalRoutes } from '../handlers/approvals.js';
import { approvalLink } from '../src/approvals/tokens.js';
import { resolveStages, type StagePolicy } from '../src/engine/approval.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import { createEngineStore } from '../src/store/engine-store.js';
import type { CheckpointDoc } from '../src/store/models.js';
import { checkpointEmail } from '../templates/email/checkpoint.js';
import { checkpointCard } from '../templates/slack/checkpoint-card.js';
import {
  type ApprovalEngine,
  type ServedApprovalEngine,
  serveApprovalEngine,
  startApprovalEngine,
} from './support/approval-engine.js';

const GROUPS = {
  leads: ['lead1@x.io', 'lead2@x.io'],
  finance: ['fin1@x.io', 'fin2@x.io', 'fin3@x.io'],
  everyone: ['leads', 'finance'],
};
const refundEditable = z.object({
  amount: z.number().positive({ message: 'The amount must be positive.' }),
  note: z.string(),
});
const stagePolicy = z.array(
  z.object({
    name: z.string().optional(),
    approvers: z.union([z.string(), z.array(z.string())]),
    above: z.number().optional(),
    riskAbove: z.number().optional(),
    quorum: z.union([z.enum(['any', 'all']), z.object({ count: z.number() })]).optional(),
  }),
);
const TWO_STAGES: StagePolicy[] = [
  { name: 'team lead', approvers: 'leads' },
  { name: 'finance', approvers: 'finance', above: 500 },
];

/** Counts real executions of the step after the approvals: a run that resumes twice would count two. */
const afterRuns = new Map<string, number>();

const refund = defineWorkflow({
  name: 'refund-policy',
  input: z.object({ amount: z.number(), risk: z.number().optional(), stages: stagePolicy }),
  async run(ctx, { amount, risk, stages }) {
    const resolved = resolveStages(stages, GROUPS, { amount, ...(risk === undefined ? {} : { risk }) });
    const approval = await ctx.approval('refund', {
      title: `Refund of ${amount}`,
      summary: 'A customer asks for a refund outside the policy.',
      evidence: [{ title: 'Account', items: [{ label: 'Lifetime value', value: '1200.00' }] }],
      proposal: { outcome: 'approve' },
      editable: refundEditable,
      values: { amount, note: 'as asked' },
      stages: resolved,
      requireRejectReason: true,
    });
    return {
      decision: approval.decision,
      values: approval.values,
      rejectedAt: approval.rejectedAt ?? null,
      stages: approval.stages.map((s) => ({ stage: s.stage, decision: s.decision, actor: s.actor })),
    };
  },
});

/** Stands in for the configuration file: read on every replay, as a workflow reads `settings`. */
let livePolicy: StagePolicy[] = TWO_STAGES;
const reloadable = defineWorkflow({
  name: 'reloadable-policy',
  input: z.object({ amount: z.number() }),
  async run(ctx, { amount }) {
    const approval = await ctx.approval('refund', {
      title: `Refund of ${amount}`,
      summary: 'A refund under a policy that may be reloaded while it waits.',
      evidence: [],
      proposal: { outcome: 'approve' },
      editable: refundEditable,
      values: { amount, note: '' },
      stages: resolveStages(livePolicy, GROUPS, { amount }),
    });
    return { decision: approval.decision, stages: approval.stages.map((s) => s.stage) };
  },
});

const parallel = defineWorkflow({
  name: 'legal-and-finance',
  input: z.object({ contract: z.string() }),
  async run(ctx, { contract }) {
    const ask = (team: string) =>
      ctx.checkpoint(team, {
        title: `${team} review of ${contract}`,
        summary: `Does ${team} agree to ${contract}?`,
        evidence: [],
        proposal: { outcome: 'sign' },
        editable: z.object({ note: z.string() }),
        values: { note: '' },
        approvers: { emails: [`${team}@x.io`] },
      });
    const [legal, finance] = await Promise.all([ask('legal'), ask('finance')]);
    const after = await ctx.step('after-both', async ({ idempotencyKey }) => {
      afterRuns.set(idempotencyKey, (afterRuns.get(idempotencyKey) ?? 0) + 1);
      return idempotencyKey;
    });
    return {
      legal: { decision: legal.decision, actor: legal.actor, channel: legal.channel, note: legal.values.note },
      finance: {
        decision: finance.decision,
        actor: finance.actor,
        channel: finance.channel,
        note: finance.values.note,
      },
      after,
    };
  },
});

const APP_SECRET = 'approval-policies-secret-0123456789abcdef';
const API_TOKEN = 'approval-policies-token-0123456789';
let h: ApprovalEngine;
let http: ServedApprovalEngine;
let baseUrl: string;

beforeAll(async () => {
  h = await startApprovalEngine('approval-policies', [refund as never, reloadable as never, parallel as never]);
  http = await serveApprovalEngine(h, [apiRoutes, approvalRoutes], {
    label: 'approval-policies',
    appSecret: APP_SECRET,
    apiToken: API_TOKEN,
  });
  baseUrl = http.baseUrl;
});
afterAll(async () => {
  await http?.close();
  await h?.close();
});

const start = async (amount: number, stages: StagePolicy[] = TWO_STAGES, risk?: number) =>
  (
    await h.engine.startRun({
      workflow: 'refund-policy',
      input: { amount, stages, ...(risk === undefined ? {} : { risk }) },
      source: { channel: 'api' },
    })
  ).runId;

const approve = (cp: CheckpointDoc, actor: string, extra: { edits?: Record<string, unknown>; comment?: string } = {}) =>
  h.engine.decide({ checkpointId: cp._id, decision: 'approve', actor, channel: 'link', ...extra });

describe('resolveStages', () => {
  it('picks stages by amount and by risk, resolving groups (which may name groups) to people', () => {
    expect(resolveStages(TWO_STAGES, GROUPS, { amount: 120 }).map((s) => s.name)).toEqual(['team lead']);
    const large = resolveStages(TWO_STAGES, GROUPS, { amount: 750 });
    expect(large).toEqual([
      { name: 'team lead', approvers: expect.objectContaining({ emails: GROUPS.leads }), quorum: { mode: 'any' } },
      { name: 'finance', approvers: expect.objectContaining({ emails: GROUPS.finance }), quorum: { mode: 'any' } },
    ]);
    const byRisk: StagePolicy[] = [
      { name: 'lead', approvers: 'leads' },
      { name: 'risk desk', approvers: ['everyone', 'U024BE7LH', 'S0614TZR7'], riskAbove: 0.7, quorum: { count: 2 } },
    ];
    expect(resolveStages(byRisk, GROUPS, { amount: 10, risk: 0.2 })).toHaveLength(1);
    const risky = resolveStages(byRisk, GROUPS, { amount: 10, risk: 0.9 })[1];
    expect(risky?.approvers).toEqual({
      emails: [...GROUPS.leads, ...GROUPS.finance],
      slackUsers: ['U024BE7LH'],
      slackGroups: ['S0614TZR7'],
      slackChannels: [],
    });
    expect(risky?.quorum).toEqual({ mode: 'count', required: 2 });
    // A threshold whose fact is missing counts as exceeded: more people are asked, never fewer.
    expect(resolveStages(TWO_STAGES, GROUPS, {})).toHaveLength(2);
  });

  it('refuses unknown groups and quorums nobody can meet, naming the stage', () => {
    expect(() => resolveStages([{ name: 'ops', approvers: 'opps' }], GROUPS, {})).toThrow(
      /stages\[0\] "ops": "opps" is neither a group/,
    );
    expect(() => resolveStages([{ approvers: 'leads', quorum: { count: 3 } }], GROUPS, {})).toThrow(
      /stages\[0\] "stage 1": quorum needs 3 approvals but only 2 approvers are named/,
    );
    expect(() => resolveStages([{ approvers: 'empty' }], { ...GROUPS, empty: [] }, {})).toThrow(/groups are empty/);
  });
});

describe('approval policies as data', () => {
  it('asks one stage for a small amount, as a checkpoint named after the approval', async () => {
    const runId = await start(120);
    const cp = await h.checkpoint(runId, 'refund');
    expect(cp.approvers.emails).toEqual(GROUPS.leads);
    expect(cp.title).toBe('Refund of 120');
    await approve(cp, 'lead2@x.io');
    const run = await h.finished(runId);
    expect(run.output).toEqual({
      decision: 'approve',
      values: { amount: 120, note: 'as asked' },
      rejectedAt: null,
      stages: [{ stage: 'team lead', decision: 'approve', actor: 'lead2@x.io' }],
    });
    expect(run.checkpoints.map((c) => c.name)).toEqual(['refund']);
  });

  it('asks team leads, then finance, carrying edits forward and showing them in the next stage', async () => {
    const runId = await start(750);
    const first = await h.checkpoint(runId, 'refund-team-lead');
    expect(first.title).toBe('Refund of 750 (stage 1 of 2: team lead)');
    await expect(approve(first, 'fin1@x.io')).rejects.toMatchObject({ code: 'not_authorized' });
    await approve(first, 'lead1@x.io', { edits: { amount: 600 }, comment: 'goodwill, capped' });

    const second = await h.checkpoint(runId, 'refund-finance');
    expect(second.values).toEqual({ amount: 600, note: 'as asked' });
    expect(second.approvers.emails).toEqual(GROUPS.finance);
    const history = second.evidence[0];
    expect(history?.title).toBe('Earlier approval stages');
    expect(history?.items[0]?.label).toBe('Stage 1 — team lead');
    expect(history?.items[0]?.value).toMatch(
      /^approved by lead1@x\.io via link on \d{4}-\d\d-\d\d \d\d:\d\d UTC, edited amount 750 → 600; comment: goodwill, capped$/,
    );
    expect(second.evidence[1]?.title).toBe('Account');

    // What the channels were handed shows it: the email's text and the Slack card's blocks.
    await h.waitFor(async () => h.shown.get(second._id), 'the finance stage to reach the channels');
    const shown = h.shown.get(second._id) as CheckpointDoc;
    const mail = checkpointEmail(shown, 'https://countersign.test/approvals/t');
    expect(mail.text).toContain('Stage 1 — team lead');
    expect(mail.text).toContain('edited amount 750 → 600');
    const card = JSON.stringify(checkpointCard(shown, { runUrl: 'https://countersign.test/runs/r' }).blocks);
    expect(card).toContain('Stage 1 — team lead');
    expect(card).toContain('750 → 600');

    await approve(second, 'fin3@x.io');
    const run = await h.finished(runId);
    expect(run.output).toEqual({
      decision: 'approve',
      values: { amount: 600, note: 'as asked' },
      rejectedAt: null,
      stages: [
        { stage: 'team lead', decision: 'approve', actor: 'lead1@x.io' },
        { stage: 'finance', decision: 'approve', actor: 'fin3@x.io' },
      ],
    });
  });

  it('ends at a reject in stage 1, and refuses a reject without a reason on every channel', async () => {
    const runId = await start(900);
    const first = await h.checkpoint(runId, 'refund-team-lead');
    expect(first.requireRejectReason).toBe(true);
    for (const channel of ['link', 'slack', 'email', 'api'] as const) {
      await expect(
        h.engine.decide({ checkpointId: first._id, decision: 'reject', actor: 'lead1@x.io', channel, comment: '  ' }),
      ).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(/reason is required/),
        issues: [{ path: 'comment', message: expect.any(String) }],
      });
    }
    const refused = await h.engine.getCheckpoint(first._id);
    expect(refused?.status).toBe('pending');
    expect(refused?.audit.filter((a) => a.outcome === 'reason_required')).toHaveLength(4);

    await h.engine.decide({
      checkpointId: first._id,
      decision: 'reject',
      actor: 'lead2@x.io',
      channel: 'link',
      comment: 'outside policy and no history',
    });
    const run = await h.finished(runId);
    expect(run.output).toMatchObject({ decision: 'reject', rejectedAt: 'team lead' });
    expect(run.checkpoints.map((c) => c.name)).toEqual(['refund-team-lead']);
    expect(await h.store.checkpoints.countDocuments({ runId })).toBe(1);
  });

  it('needs every finance approver when the stage says all', async () => {
    const runId = await start(800, [
      { name: 'team lead', approvers: 'leads' },
      { name: 'finance', approvers: 'finance', above: 500, quorum: 'all' },
    ]);
    await approve(await h.checkpoint(runId, 'refund-team-lead'), 'lead1@x.io');
    const finance = await h.checkpoint(runId, 'refund-finance');
    expect(finance.quorum).toEqual({ mode: 'all', required: 3 });
    expect((await approve(finance, 'fin1@x.io')).status).toBe('pending');
    await expect(approve(finance, 'FIN1@x.io')).rejects.toThrow(/already approved; waiting for 2 more/);
    expect((await approve(finance, 'fin2@x.io', { edits: { note: 'booked to Q4' } })).status).toBe('pending');
    const last = await approve(finance, 'fin3@x.io');
    expect(last.status).toBe('approved');
    const run = await h.finished(runId);
    expect(run.output).toMatchObject({ decision: 'approve', values: { amount: 800, note: 'booked to Q4' } });
  });

  it('takes M of N in a stage, and names every approver in the later stage', async () => {
    const runId = await start(300, [
      { name: 'two leads', approvers: 'leads', quorum: { count: 2 } },
      { name: 'finance', approvers: 'finance' },
    ]);
    const leads = await h.checkpoint(runId, 'refund-two-leads');
    expect(leads.quorum).toEqual({ mode: 'count', required: 2 });
    await approve(leads, 'lead1@x.io');
    await approve(leads, 'lead2@x.io');
    const finance = await h.checkpoint(runId, 'refund-finance');
    expect(finance.evidence[0]?.items[0]?.value).toMatch(/^approved by lead1@x\.io, lead2@x\.io via link on /);
    await h.engine.decide({
      checkpointId: finance._id,
      decision: 'reject',
      actor: 'fin2@x.io',
      channel: 'link',
      comment: 'budget spent',
    });
    expect((await h.finished(runId)).output).toMatchObject({ decision: 'reject', rejectedAt: 'finance' });
  });
});

describe('a policy that changes while a run waits', () => {
  it('keeps the stages the run began with', async () => {
    livePolicy = TWO_STAGES;
    const { runId } = await h.engine.startRun({
      workflow: 'reloadable-policy',
      input: { amount: 900 },
      source: { channel: 'api' },
    });
    const first = await h.checkpoint(runId, 'refund-team-lead');
    livePolicy = [{ name: 'anyone', approvers: 'everyone' }]; // an operator reloads the configuration
    await approve(first, 'lead1@x.io');
    await approve(await h.checkpoint(runId, 'refund-finance'), 'fin2@x.io');
    expect((await h.finished(runId)).output).toEqual({ decision: 'approve', stages: ['team lead', 'finance'] });
    expect(await h.store.checkpoints.countDocuments({ runId })).toBe(2);
    livePolicy = TWO_STAGES;
  });
});

describe('parallel checkpoints', () => {
  const startParallel = async (contract: string) => {
    const { runId } = await h.engine.startRun({
      workflow: 'legal-and-finance',
      input: { contract },
      source: { channel: 'api' },
    });
    return { runId, legal: await h.checkpoint(runId, 'legal'), finance: await h.checkpoint(runId, 'finance') };
  };

  it('resumes once with both results when decisions arrive together by API and by approval link', async () => {
    const { runId, legal, finance } = await startParallel('msa-1');
    const link = approvalLink(baseUrl, APP_SECRET, { checkpointId: finance._id, recipient: 'finance@x.io' });
    const [api, page] = await Promise.all([
      fetch(`${baseUrl}/api/checkpoints/${legal._id}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${API_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'approve', actor: 'legal@x.io', edits: { note: 'clause 7 ok' } }),
      }),
      fetch(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ decision: 'approve', 'edit.note': 'within budget' }).toString(),
      }),
    ]);
    expect(api.status).toBe(200);
    expect(page.status).toBe(200);
    const run = await h.finished(runId);
    expect(run.status).toBe('completed');
    const output = run.output as Record<string, { decision: string; channel: string; note: string } | string>;
    expect(output.legal).toEqual({ decision: 'approve', actor: 'legal@x.io', channel: 'api', note: 'clause 7 ok' });
    expect(output.finance).toEqual({
      decision: 'approve',
      actor: 'finance@x.io',
      channel: 'link',
      note: 'within budget',
    });
    expect(afterRuns.get(output.after as string)).toBe(1);
    await h.waitFor(
      async () =>
        h.told.includes(`decided:${legal._id}:approved`) && h.told.includes(`decided:${finance._id}:approved`),
      'both decisions to reach the channels',
    );
    expect(h.told.filter((t) => t.startsWith(`decided:${legal._id}`))).toHaveLength(1);
    expect(h.told.filter((t) => t.startsWith(`decided:${finance._id}`))).toHaveLength(1);
  });

  it('loses nothing and decides nothing twice across a crash between the two decisions', async () => {
    const { runId, legal, finance } = await startParallel('msa-2');
    await h.engine.decide({ checkpointId: legal._id, decision: 'approve', actor: 'legal@x.io', channel: 'link' });
    await h.waitFor(
      async () => (await createEngineStore(h.store).loadJournal(runId)).steps.get('legal')?.status === 'completed',
      'the legal step to complete',
    );
    expect((await h.engine.getRun(runId))?.status).toBe('waiting');

    await h.stopWorkers(); // the process dies: nothing runs until new workers start
    await h.engine.decide({
      checkpointId: finance._id,
      decision: 'reject',
      actor: 'finance@x.io',
      channel: 'email',
      comment: 'not this quarter',
    });
    await expect(
      h.engine.decide({ checkpointId: legal._id, decision: 'reject', actor: 'legal@x.io', channel: 'link' }),
    ).rejects.toMatchObject({ code: 'already_decided' });
    expect((await h.engine.getRun(runId))?.status).toBe('waiting');
    h.startWorkers();

    const run = await h.finished(runId);
    const output = run.output as Record<string, { decision: string; channel: string } | string>;
    expect(output.legal).toMatchObject({ decision: 'approve', channel: 'link' });
    expect(output.finance).toMatchObject({ decision: 'reject', channel: 'email' });
    expect(afterRuns.get(output.after as string)).toBe(1);
    const cps = await h.store.checkpoints.find({ runId }).lean<CheckpointDoc[]>();
    expect(cps.map((c) => [c.name, c.status, c.version]).sort()).toEqual([
      ['finance', 'rejected', 1],
      ['legal', 'approved', 1],
    ]);
  });
});
