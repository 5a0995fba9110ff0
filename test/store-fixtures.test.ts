import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalLink } from '../src/approvals/tokens.js';
import type { CheckpointDoc, RunDoc, StepDoc } from '../src/store/models.js';
import { APPROVER, isFinished, startTestApp, type TestApp } from './support/app.js';

/*
 * Saved states of schema version 1 (test/fixtures/v1, see its README) must stay readable and resumable by the
 * current code. The documents go into a fresh database through the driver, exactly as frozen, with no mongoose
 * casting or defaults in between.
 */

const DATE_FIELDS = new Set([
  'createdAt',
  'updatedAt',
  'startedAt',
  'finishedAt',
  'wakeAt',
  'decidedAt',
  'at',
  'until',
]);
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface Frozen {
  run: RunDoc;
  steps: StepDoc[];
  checkpoints: CheckpointDoc[];
}

function readFrozen(folder: string, file: string): unknown {
  const text = readFileSync(new URL(`./fixtures/v1/${folder}/${file}`, import.meta.url), 'utf8');
  return JSON.parse(text, (key, value: unknown) =>
    DATE_FIELDS.has(key) && typeof value === 'string' && ISO_DATE.test(value) ? new Date(value) : value,
  );
}

function loadFrozen(folder: string): Frozen {
  return {
    run: readFrozen(folder, 'run.json') as RunDoc,
    steps: readFrozen(folder, 'steps.json') as StepDoc[],
    checkpoints: readFrozen(folder, 'checkpoints.json') as CheckpointDoc[],
  };
}

let t: TestApp;
const waiting = loadFrozen('waiting-at-review');
const completed = loadFrozen('completed-after-edit');

/** The driver's own collection: documents go in exactly as frozen, without mongoose casting or defaults. */
function rawCollection<T extends { _id: string }>(name: string) {
  const db = t.app.store.connection.db;
  if (!db) throw new Error('the store is not connected');
  return db.collection<T>(name);
}

async function insertFrozen(f: Frozen) {
  await rawCollection<RunDoc>('runs').insertOne(f.run);
  await rawCollection<StepDoc>('steps').insertMany(f.steps);
  await rawCollection<CheckpointDoc>('checkpoints').insertMany(f.checkpoints);
}

beforeAll(async () => {
  t = await startTestApp({ label: 'fixtures' });
  await insertFrozen(waiting);
  await insertFrozen(completed);
});
afterAll(async () => {
  await t?.close();
});

describe('the v1 fixtures', () => {
  it('are all documents of schema version 1', () => {
    const docs = [waiting, completed].flatMap((f) => [f.run, ...f.steps, ...f.checkpoints]);
    expect(docs.map((d) => d.v)).toEqual(docs.map(() => 1));
  });

  it('keep their dates as dates', () => {
    expect(waiting.run.createdAt).toBeInstanceOf(Date);
    expect(completed.checkpoints[0]?.decision?.decidedAt).toBeInstanceOf(Date);
  });
});

describe('a frozen v1 run waiting at its checkpoint', () => {
  const runId = waiting.run._id;
  const checkpointId = waiting.checkpoints[0]?._id ?? '';

  it('renders as a waiting run with its agent and checkpoint steps', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run).toMatchObject({ id: runId, workflow: 'card-dispute', status: 'waiting', output: null });
    expect(run?.steps.map((s) => [s.name, s.kind, s.status])).toEqual([
      ['evidence-collector', 'agent', 'completed'],
      ['account-risk', 'agent', 'completed'],
      ['language-analyst', 'agent', 'completed'],
      ['dispute-manager', 'agent', 'completed'],
      ['review', 'checkpoint', 'waiting'],
    ]);
    expect(run?.checkpoints).toEqual([
      { id: checkpointId, name: 'review', status: 'pending', decision: null, approvals: [], audit: [] },
    ]);
  });

  it('adds up the usage of its steps', async () => {
    const run = await t.app.engine.getRun(runId);
    const input = waiting.steps.reduce((n, s) => n + s.usage.inputTokens, 0);
    expect(input).toBeGreaterThan(0);
    expect(run?.usage.inputTokens).toBe(input);
  });

  it('shows no error on a healthy run or its steps', async () => {
    const res = await t.api(`/api/runs/${runId}`);
    expect(res.status).toBe(200);
    const run = (await res.json()) as { error: unknown; steps: { error: unknown }[] };
    expect(run.error).toBeNull();
    expect(run.steps.map((s) => s.error)).toEqual(run.steps.map(() => null));
  });

  it('serves the approval page of its frozen checkpoint', async () => {
    const link = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, { checkpointId, recipient: APPROVER });
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Linus Nakamura');
    expect(html).toContain('Approve');
  });

  describe('once its frozen checkpoint is approved', () => {
    beforeAll(async () => {
      const res = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
        body: { decision: 'approve', actor: 'lead@example.com' },
      });
      expect(res.status).toBe(200);
      await t.waitForRun(runId, isFinished);
    });

    it('resumes to completion from the frozen journal', async () => {
      const run = await t.app.engine.getRun(runId);
      expect(run?.status).toBe('completed');
      expect(run?.output).toMatchObject({ outcome: 'accept', decidedBy: 'lead@example.com', replySent: true });
      expect(run?.steps.map((s) => s.name)).toEqual(expect.arrayContaining(['review', 'send-reply', 'record-outcome']));
    });

    it('does not run the journaled agents again', async () => {
      expect(await t.app.store.modelCalls.countDocuments({ runId })).toBe(0);
      const run = await t.app.engine.getRun(runId);
      expect(run?.steps.filter((s) => s.kind === 'agent').every((s) => s.attempts === 1)).toBe(true);
    });

    it('emails the frozen proposed reply to the customer once', async () => {
      const customer = 'linus@example.com';
      const mail = await t.smtp.waitFor((m) => m.to.includes(customer));
      expect(mail.text.trim()).toBe(String(waiting.checkpoints[0]?.values.reply).trim());
      expect(t.smtp.messages.filter((m) => m.to.includes(customer))).toHaveLength(1);
    });

    it('records the outcome', async () => {
      expect(await t.app.outcomes.get(runId)).toMatchObject({ proposed: 'review', final: 'accept', edited: false });
    });
  });
});

describe('a frozen v1 run completed after an edited approval', () => {
  const runId = completed.run._id;
  const checkpointId = completed.checkpoints[0]?._id ?? '';

  it('renders with its agent, checkpoint and plain steps', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run?.status).toBe('completed');
    expect(run?.output).toMatchObject({ outcome: 'accept', decidedBy: 'approver@example.com', replySent: true });
    expect(run?.steps.map((s) => [s.name, s.kind])).toEqual([
      ['evidence-collector', 'agent'],
      ['account-risk', 'agent'],
      ['language-analyst', 'agent'],
      ['dispute-manager', 'agent'],
      ['review', 'checkpoint'],
      ['send-reply', 'step'],
      ['record-outcome', 'step'],
    ]);
  });

  it('shows the frozen decision with its diff', async () => {
    const run = await t.app.engine.getRun(runId);
    const decision = run?.checkpoints[0]?.decision;
    expect(decision).toMatchObject({ decision: 'approve', actor: 'approver@example.com', channel: 'api' });
    expect(decision?.diff.map((d) => d.field)).toEqual(['reply']);
  });

  it('is listed with the other runs', async () => {
    const runs = await t.app.engine.listRuns({ workflow: 'card-dispute' });
    expect(runs.map((r) => r.id)).toEqual(expect.arrayContaining([runId, waiting.run._id]));
  });

  it('refuses a late decision on its frozen checkpoint, naming who decided', async () => {
    const res = await t.api(`/api/checkpoints/${checkpointId}/decision`, { body: { decision: 'reject' } });
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ decidedBy: 'approver@example.com', decision: 'approve' });
  });

  it('stays completed without sending anything', async () => {
    const run = await t.app.engine.getRun(runId);
    expect(run?.status).toBe('completed');
    expect(t.smtp.messages.filter((m) => m.to.includes('ada@example.com'))).toHaveLength(0);
  });
});
