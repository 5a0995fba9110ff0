import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { modules } from '../compose.js';
import { defineWorkflow } from '../src/engine/workflow.js';
import type { WorkflowListing } from '../src/modules/catalogue.js';
import type { UseCaseModule } from '../src/modules/types.js';
import { isFinished, startTestApp, type TestApp } from './support/app.js';
import { countersign } from './support/cli.js';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { slashCommand } from './support/slack-payloads.js';

/** A module that shares nothing with disputes but the platform: one workflow, a webhook and a Slack word. */
const noteModule: UseCaseModule = {
  name: 'notes',
  description: 'Test notes: a one-step workflow to prove modules plug in from the list alone.',
  create: () => ({
    workflows: [
      defineWorkflow({
        name: 'team-note',
        input: z.object({ note: z.string().min(1, { message: 'write the note' }).max(200) }),
        run: (ctx, input) => ctx.step('shout', async () => ({ shouted: input.note.toUpperCase() })),
      }),
    ],
    agents: [],
    responders: [],
    descriptions: { 'team-note': 'Writes a note down, loudly.' },
    intake: {
      webhooks: ['team-note'],
      slackCommands: [{ word: 'note', workflow: 'team-note', description: 'open a form and write a team note' }],
    },
  }),
};

describe('registered workflows: GET /api/workflows, webhooks and countersign workflows', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ label: 'wfdiscovery', modules: [...modules, noteModule] });
  });
  afterAll(async () => {
    await t?.close();
  });

  it('asks for the Bearer token', async () => {
    const res = await fetch(`${t.baseUrl}/api/workflows`);
    expect(res.status).toBe(401);
  });

  it('lists every module’s workflows with input JSON Schema and what starts them', async () => {
    const res = await t.api('/api/workflows');
    expect(res.status).toBe(200);
    const rows = (await res.json()) as WorkflowListing[];
    const byName = new Map(rows.map((r) => [r.name, r]));
    // Modules in list order: the root's (compose.ts, whatever else it holds), then the test module.
    expect([...byName.keys()]).toEqual(expect.arrayContaining(['card-dispute', 'email-intake', 'slack-intake']));
    expect(rows.at(-1)?.name).toBe('team-note');

    const dispute = byName.get('card-dispute');
    expect(dispute).toMatchObject({
      module: 'disputes',
      intake: {
        webhook: true,
        email: [],
        slack: { commands: ['dispute'], shortcuts: ['countersign.dispute_from_message'], mention: false },
      },
    });
    expect(dispute?.inputSchema).toMatchObject({ type: 'object' });
    expect(Object.keys((dispute?.inputSchema.properties ?? {}) as object)).toEqual(
      expect.arrayContaining(['customerEmail', 'chargeId', 'amount', 'currency', 'reason', 'description']),
    );
    expect(byName.get('email-intake')?.intake).toMatchObject({ webhook: false, email: [{ route: 'disputes' }] });
    expect(byName.get('slack-intake')?.intake.slack.mention).toBe(true);
    expect(byName.get('team-note')).toMatchObject({
      module: 'notes',
      description: 'Writes a note down, loudly.',
      inputSchema: { properties: { note: { type: 'string' } }, required: ['note'] },
      intake: { webhook: true, email: [], slack: { commands: ['note'], shortcuts: [], mention: false } },
    });
  });

  it('starts a module’s workflow by webhook only when the module lists it in intake.webhooks', async () => {
    const res = await t.webhook('team-note', { note: 'ship it' }, { key: 'note-1' });
    expect(res.status).toBe(202);
    const { runId } = (await res.json()) as { runId: string };
    const run = await t.waitForRun(runId, isFinished);
    expect(run).toMatchObject({ status: 'completed', output: { shouted: 'SHIP IT' } });

    // Registered, but started by mail only: a caller cannot start it, nor tell it from a name that does not exist.
    const intake = await t.webhook('email-intake', { any: 'thing' });
    expect(intake.status).toBe(404);
    expect(await intake.json()).toMatchObject({ error: 'unknown_workflow' });
  });

  it('prints the same listing as a table with `countersign workflows`', async () => {
    const { code, stdout, stderr } = await countersign(['workflows'], t.env);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^WORKFLOW\s+MODULE\s+STARTED BY\s+INPUT\s+DESCRIPTION$/);
    const row = (name: string) => lines.find((l) => l.startsWith(`${name} `)) ?? '';
    expect(row('card-dispute')).toMatch(/disputes\s+webhook \/webhooks\/card-dispute, \/countersign dispute, shortcut/);
    expect(row('card-dispute')).toMatch(
      /customerEmail, customerName\?, chargeId, amount, currency, reason, description/,
    );
    expect(row('email-intake')).toContain('email route disputes');
    expect(row('slack-intake')).toContain('Slack mention');
    // The CLI runs the root's module list (compose.ts), which the test module is not part of.
    expect(row('team-note')).toBe('');
  });

  it('refuses to start when the configuration routes to a workflow no module registered (exit code 2)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'countersign-routing-'));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ routing: { slack: { commands: { memo: 'no-such-flow' } } } }));
    const { code, stderr } = await countersign(['workflows'], { ...t.env, COUNTERSIGN_CONFIG: bad });
    await rm(dir, { recursive: true, force: true });
    expect(stderr).toContain('COUNTERSIGN_CONFIG routing.slack.commands.memo: unknown workflow "no-such-flow"');
    expect(code).toBe(2);
  });
});

describe('Slack intake comes from the modules and the configuration file', () => {
  let s: SlackTestApp;
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'countersign-routing-'));
    const file = join(dir, 'countersign.json');
    // An operator's word for a module's workflow, ahead of the modules' own words.
    await writeFile(file, JSON.stringify({ routing: { slack: { commands: { memo: 'team-note' } } } }));
    s = await startSlackTestApp({
      label: 'wfslack',
      modules: [...modules, noteModule],
      env: { COUNTERSIGN_CONFIG: file },
    });
  });
  afterAll(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('opens the workflow a configured word routes to, and lists that word', async () => {
    await s.command(slashCommand({ user: PEOPLE.alice.id, channel: 'CSUPPORT', text: 'memo' }));
    await s.slack.waitFor(() =>
      s.slack.callsTo('views.open').find((c) => (c.args.view as { title: { text: string } }).title.text === 'New memo'),
    );
    const rows = (await (await s.api('/api/workflows')).json()) as WorkflowListing[];
    expect(rows.find((r) => r.name === 'team-note')?.intake.slack.commands).toEqual(['memo', 'note']);
  });

  it('lists every module’s /countersign words in the help', async () => {
    const res = await s.command(slashCommand({ user: PEOPLE.alice.id, channel: 'CSUPPORT', text: 'help' }));
    const body = (await res.json()) as { response_type: string; text: string };
    expect(body.response_type).toBe('ephemeral');
    expect(body.text).toContain('`/countersign dispute` — open a form and start a card-dispute run');
    expect(body.text).toContain('`/countersign note` — open a form and write a team note');
  });

  it('opens another module’s form from its word, fields from its input schema', async () => {
    const res = await s.command(slashCommand({ user: PEOPLE.alice.id, channel: 'CSUPPORT', text: 'note' }));
    expect(res.status).toBe(200);
    const open = await s.slack.waitFor(() =>
      s.slack.callsTo('views.open').find((c) => (c.args.view as { title: { text: string } }).title.text === 'New note'),
    );
    const view = open.args.view as { title: { text: string }; blocks: { block_id: string }[] };
    expect(view.title.text).toBe('New note');
    expect(view.blocks.map((b) => b.block_id)).toContain('note');
  });
});
