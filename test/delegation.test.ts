import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { delegationRoutes } from '../handlers/delegations.js';
import { handleAwayCommand } from '../handlers/slack/away.js';
import type { People } from '../src/channels/slack/people.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import { createIdentities } from '../src/identity.js';
import type { CheckpointDoc } from '../src/store/models.js';
import {
  type ApprovalEngine,
  type ServedApprovalEngine,
  serveApprovalEngine,
  startApprovalEngine,
} from './support/approval-engine.js';

const DAY = 24 * 60 * 60 * 1000;
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString().slice(0, 10);

const expense = defineWorkflow({
  name: 'expense',
  input: z.object({ approvers: z.array(z.string()), quorum: z.enum(['any', 'all']) }),
  async run(ctx, { approvers, quorum }) {
    const review = await ctx.checkpoint('review', {
      title: 'Expense claim',
      summary: 'Travel to the customer.',
      evidence: [],
      proposal: { outcome: 'approve' },
      editable: z.object({ amount: z.number() }),
      values: { amount: 80 },
      approvers: {
        emails: approvers.filter((a) => a.includes('@')),
        slackUsers: approvers.filter((a) => !a.includes('@')),
      },
      quorum: { mode: quorum },
    });
    return { decision: review.decision, actor: review.actor, onBehalfOf: review.onBehalfOf ?? null };
  },
});

const API_TOKEN = 'delegation-token-0123456789abcdef';
let h: ApprovalEngine;
let http: ServedApprovalEngine;
let baseUrl: string;

beforeAll(async () => {
  h = await startApprovalEngine('delegation', [expense as never]);
  http = await serveApprovalEngine(h, [delegationRoutes], {
    label: 'delegation',
    appSecret: 'delegation-secret-0123456789abcdefghij',
    apiToken: API_TOKEN,
  });
  baseUrl = http.baseUrl;
});
afterAll(async () => {
  await http?.close();
  await h?.close();
});

async function startExpense(approvers: string[], quorum: 'any' | 'all' = 'any') {
  const { runId } = await h.engine.startRun({
    workflow: 'expense',
    input: { approvers, quorum },
    source: { channel: 'api' },
  });
  return { runId, cp: await h.checkpoint(runId, 'review') };
}

const decide = (cp: CheckpointDoc, actor: string, decision: 'approve' | 'reject' = 'approve', aliases?: string[]) =>
  h.engine.decide({
    checkpointId: cp._id,
    decision,
    actor,
    channel: 'link',
    ...(aliases ? { aliases } : {}),
    ...(decision === 'reject' ? { comment: 'no' } : {}),
  });

describe('delegation', () => {
  it('refuses a delegation that cannot work, saying why', async () => {
    await expect(
      h.engine.setDelegation({ approver: 'a@x.io', delegate: 'b@x.io', until: '2001-01-01', createdBy: 't' }),
    ).rejects.toMatchObject({ code: 'invalid_input', issues: [{ path: 'until', message: /must be in the future/ }] });
    await expect(
      h.engine.setDelegation({ approver: 'A@x.io', delegate: 'a@x.io', until: inDays(3), createdBy: 't' }),
    ).rejects.toMatchObject({ issues: [{ path: 'delegate', message: /cannot delegate to themselves/ }] });
    await expect(
      h.engine.setDelegation({ approver: 'a@x.io', delegate: 'bob', until: 'next week', createdBy: 't' }),
    ).rejects.toMatchObject({ issues: [{ path: 'delegate' }, { path: 'until' }] });
  });

  it('tells the delegate of new checkpoints; the delegate decides on behalf of the approver', async () => {
    await h.engine.setDelegation({
      approver: 'boss@x.io',
      delegate: 'deputy@x.io',
      until: inDays(7),
      reason: 'parental leave',
      createdBy: 'api',
    });
    const { runId, cp } = await startExpense(['boss@x.io', 'peer@x.io']);
    // Channels mail `approvers.emails`: the delegate is among them, noted as a delegate.
    expect(cp.approvers.emails).toEqual(['boss@x.io', 'peer@x.io', 'deputy@x.io']);
    expect(cp.delegations).toEqual([
      { approver: 'boss@x.io', delegate: 'deputy@x.io', until: expect.any(Date), added: true },
    ]);
    expect(await h.engine.mayDecide(cp, 'deputy@x.io')).toBe(true);
    expect(await h.engine.mayDecide(cp, 'stranger@x.io')).toBe(false);
    const decided = await decide(cp, 'deputy@x.io');
    expect(decided.decision).toMatchObject({ actor: 'deputy@x.io', onBehalfOf: 'boss@x.io' });
    const run = await h.finished(runId);
    expect(run.output).toEqual({ decision: 'approve', actor: 'deputy@x.io', onBehalfOf: 'boss@x.io' });
    expect(run.checkpoints[0]?.decision?.onBehalfOf).toBe('boss@x.io');
    await h.engine.clearDelegation('boss@x.io');
  });

  it('lets a delegate set while a checkpoint waits decide it, through identity links', async () => {
    // The approver is listed by Slack id; the delegation names their email; one person, linked.
    await createIdentities(h.store).link({ email: 'carla@x.io', slackUserId: 'U0CARLA01' });
    const { runId, cp } = await startExpense(['U0CARLA01']);
    expect(await h.engine.mayDecide(cp, 'dan@x.io')).toBe(false);
    await h.engine.setDelegation({ approver: 'carla@x.io', delegate: 'dan@x.io', until: inDays(2), createdBy: 'api' });
    expect(await h.engine.mayDecide(cp, 'dan@x.io')).toBe(true);
    await decide(cp, 'dan@x.io', 'reject');
    expect((await h.finished(runId)).output).toEqual({
      decision: 'reject',
      actor: 'dan@x.io',
      onBehalfOf: 'carla@x.io',
    });
    await h.engine.clearDelegation('U0CARLA01');
    expect(await h.engine.listDelegations({ active: true })).toEqual([]);
  });

  it('counts a delegate once for the approver toward an all quorum', async () => {
    await h.engine.setDelegation({ approver: 'ed@x.io', delegate: 'fay@x.io', until: inDays(1), createdBy: 'api' });
    const { runId, cp } = await startExpense(['ed@x.io', 'gil@x.io'], 'all');
    expect(cp.quorum).toEqual({ mode: 'all', required: 2 }); // the delegate does not raise the count
    const partial = await decide(cp, 'fay@x.io');
    expect(partial.approvals).toMatchObject([{ actor: 'fay@x.io', onBehalfOf: 'ed@x.io' }]);
    await expect(decide(cp, 'ed@x.io')).rejects.toThrow(/already approved/);
    await decide(cp, 'gil@x.io');
    expect((await h.finished(runId)).output).toMatchObject({ decision: 'approve', actor: 'gil@x.io' });
    await h.engine.clearDelegation('ed@x.io');
  });

  it('stops the delegate once `until` has passed, though they were told of the checkpoint', async () => {
    await h.engine.setDelegation({ approver: 'hal@x.io', delegate: 'ivy@x.io', until: inDays(1), createdBy: 'api' });
    const { runId, cp } = await startExpense(['hal@x.io']);
    expect(cp.approvers.emails).toContain('ivy@x.io');
    h.advance(2 * DAY);
    expect(await h.engine.mayDecide(cp, 'ivy@x.io')).toBe(false);
    await expect(decide(cp, 'ivy@x.io')).rejects.toMatchObject({ code: 'not_authorized' });
    expect(await h.engine.listDelegations({ active: false })).toMatchObject([{ approver: 'hal@x.io', active: false }]);
    await decide(cp, 'hal@x.io');
    expect((await h.finished(runId)).output).toEqual({ decision: 'approve', actor: 'hal@x.io', onBehalfOf: null });
    await h.engine.clearDelegation('hal@x.io');
  });
});

describe('decidableBy', () => {
  it('picks from a list, in order, the checkpoints mayDecide would allow one by one', async () => {
    await createIdentities(h.store).link({ email: 'jo@x.io', slackUserId: 'U0JO00001' });
    await h.engine.setDelegation({ approver: 'kim@x.io', delegate: 'jo@x.io', until: inDays(2), createdBy: 'api' });
    const bySlackId = (await startExpense(['U0JO00001'])).cp;
    const notTheirs = (await startExpense(['lee@x.io'])).cp;
    const asDelegate = (await startExpense(['kim@x.io'])).cp;
    const byEmail = (await startExpense(['jo@x.io', 'lee@x.io'])).cp;
    const list = [byEmail, notTheirs, bySlackId, asDelegate];
    const picked = await h.engine.decidableBy(list, 'jo@x.io');
    expect(picked.map((cp) => cp._id)).toEqual([byEmail._id, bySlackId._id, asDelegate._id]);
    for (const cp of list) expect(await h.engine.mayDecide(cp, 'jo@x.io')).toBe(picked.includes(cp));
    expect(await h.engine.decidableBy(list, 'stranger@x.io')).toEqual([]);
    await h.engine.clearDelegation('kim@x.io');
    expect((await h.engine.decidableBy(list, 'jo@x.io')).map((cp) => cp._id)).toEqual([byEmail._id, bySlackId._id]);
  });
});

describe('the delegations API', () => {
  const call = (method: string, path: string, body?: unknown) =>
    fetch(`${baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${API_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it('sets, lists and clears a delegation, and refuses a bad one with its issues', async () => {
    const until = '2099-06-30';
    const created = await call('POST', '/api/delegations', {
      approver: 'Jo@X.io',
      delegate: 'U0KIM0001',
      until,
      reason: 'conference',
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({
      delegation: {
        approver: 'jo@x.io',
        delegate: 'U0KIM0001',
        until: '2099-07-01T00:00:00.000Z',
        reason: 'conference',
        createdBy: 'api',
        createdAt: expect.any(String),
        active: true,
      },
    });
    const list = (await (await call('GET', '/api/delegations?active=true')).json()) as {
      delegations: { approver: string }[];
    };
    expect(list.delegations.map((d) => d.approver)).toEqual(['jo@x.io']);

    const bad = await call('POST', '/api/delegations', { approver: 'jo@x.io', delegate: 'kim@x.io', until: 'soon' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('until');
    const typo = await call('POST', '/api/delegations', { approver: 'jo@x.io', delegate: 'kim@x.io', untill: until });
    expect(typo.status).toBe(400);
    expect((await fetch(`${baseUrl}/api/delegations`)).status).toBe(401);

    const cleared = await call('DELETE', '/api/delegations/jo%40x.io');
    expect(await cleared.json()).toEqual({ cleared: 1 });
    expect(await h.engine.listDelegations()).toEqual([]);
  });
});

describe('/countersign away and back', () => {
  // Stands in for Slack's users.info (what createPeople asks): the email Slack knows for each user id.
  const emails: Record<string, string> = { U0LEE0001: 'lee@x.io' };
  const people: People = {
    async resolve(slackUserId) {
      const email = emails[slackUserId];
      if (email) await createIdentities(h.store).link({ email, slackUserId });
      return { actor: email ?? slackUserId, aliases: email ? [slackUserId] : [], slackUserId };
    },
  };
  const deps = () => ({ engine: h.engine, people, logger: pino({ level: 'silent' }) });

  it('sets a delegation for the person who ran it, and `back` ends it', async () => {
    const away = await handleAwayCommand(deps(), {
      user_id: 'U0LEE0001',
      text: 'away <@U0MAX0001|max> until 2099-01-15 visiting the Lisbon office',
    });
    expect(away?.text).toContain('Until the end of 2099-01-15 (UTC), <@U0MAX0001> may decide your checkpoints');
    expect(await h.engine.listDelegations()).toMatchObject([
      {
        approver: 'lee@x.io',
        delegate: 'U0MAX0001',
        until: new Date('2099-01-16T00:00:00Z'),
        reason: 'visiting the Lisbon office',
        createdBy: 'U0LEE0001',
      },
    ]);
    // The delegate named by Slack id may decide a checkpoint that lists the approver by email.
    const { runId, cp } = await startExpense(['lee@x.io']);
    expect(cp.approvers.slackUsers).toEqual(['U0MAX0001']);
    await decide(cp, 'U0MAX0001');
    expect((await h.finished(runId)).output).toMatchObject({ actor: 'U0MAX0001', onBehalfOf: 'lee@x.io' });

    expect((await handleAwayCommand(deps(), { user_id: 'U0LEE0001', text: 'back' }))?.text).toMatch(/Welcome back/);
    expect(await h.engine.listDelegations()).toEqual([]);
    expect((await handleAwayCommand(deps(), { user_id: 'U0LEE0001', text: 'back' }))?.text).toMatch(/no delegation/);
  });

  it('explains what is wrong with a malformed command, and ignores other commands', async () => {
    const run = (text: string) => handleAwayCommand(deps(), { user_id: 'U0LEE0001', text });
    expect((await run('away'))?.text).toMatch(/Tell me who decides for you and until when/);
    expect((await run('away bob until 2099-01-01'))?.text).toMatch(/could not read "bob" as a person/);
    expect((await run('away <@U0MAX0001> until tomorrow'))?.text).toMatch(/"tomorrow" is not a date/);
    expect((await run('away <@U0MAX0001> until 2001-01-01'))?.text).toMatch(/until: must be in the future/);
    expect((await run('away <@U0LEE0001> until 2099-01-01'))?.text).toMatch(/cannot delegate to themselves/);
    expect(await run('refund 120 for order 77')).toBeUndefined();
    expect(await h.engine.listDelegations()).toEqual([]);
  });
});
