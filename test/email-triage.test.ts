import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmailIntakeOutput } from '../agents/disputes/email-intake.js';
import { emailModels } from '../src/channels/email/store.js';
import type { RunView } from '../src/engine/types.js';
import { hasPendingCheckpoint, isFinished, type TestApp } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { customerMail, handled, startEmailApp } from './support/imap-app.js';

let box: TestMailbox;
let t: TestApp;

beforeAll(async () => {
  box = await testMailbox('triage');
  t = await startEmailApp('emailtriage', box);
});
afterAll(async () => {
  await t?.close();
});

const effect = (kind: string) => (m: { headers: Record<string, string> }) => m.headers['x-countersign-effect'] === kind;

/** Appends a customer's first message and returns its intake run once it has settled. */
async function arrive(messageId: string, from: string, subject: string, body: string, until = hasPendingCheckpoint) {
  await box.append(customerMail({ messageId, from, subject, body }));
  const doc = await handled(t, messageId);
  expect(doc.status).toBe('done');
  return t.waitForRun(doc.runId ?? '', until);
}

async function disputesFrom(messageId: string) {
  return t.app.store.runs.find({ workflow: 'card-dispute', 'source.key': messageId }).lean();
}

async function decide(run: RunView, body: Record<string, unknown>) {
  const cp = run.checkpoints.find((c) => c.name === 'triage');
  const res = await t.api(`/api/checkpoints/${cp?.id ?? ''}/decision`, { body: { actor: 'ops@example.com', ...body } });
  expect(res.status).toBe(200);
}

describe('saying truthfully what Countersign understood', () => {
  it("names the charge in a dispute's receipt", async () => {
    const id = '<triage-dispute@mail.example.com>';
    const run = await arrive(
      id,
      'Ada Lovelace <ada@example.com>',
      'Charged twice',
      'I was charged twice for my Pro subscription: 49.00 EUR each, charge ch_1002. Please refund one of them.',
      isFinished,
    );
    expect(run.output).toMatchObject({ status: 'started', kind: 'dispute' });
    const receipt = await t.smtp.waitFor((m) => m.headers['in-reply-to'] === id && effect('email-receipt')(m));
    expect(receipt.text).toContain(
      'We understood it as a dispute about charge ch_1002 of 49.00 EUR (charged twice), and we are looking into it.',
    );
  });

  it('gives a message that is not a dispute a truthful receipt and a person, and starts no dispute', async () => {
    const id = '<triage-other@mail.example.com>';
    const run = await arrive(
      id,
      'Alan Turing <alan@example.com>',
      'Password reset',
      'Hello, how do I reset the password of my login? The page keeps rejecting my new one.',
    );
    const receipt = await t.smtp.waitFor((m) => m.headers['in-reply-to'] === id && effect('email-receipt')(m));
    expect(receipt.text).toContain('It does not look like a dispute about a card charge, so we have not opened one.');
    expect(receipt.text).not.toMatch(/received your dispute|understood it as a dispute/);
    expect(run.checkpoints).toMatchObject([{ name: 'triage', status: 'pending' }]);
    const cp = await t.app.engine.getCheckpoint(run.checkpoints[0]?.id ?? '');
    const message = cp?.evidence.find((s) => s.title === 'Message')?.items ?? [];
    expect(message).toEqual(
      expect.arrayContaining([
        { label: 'Understood as', value: 'other' },
        { label: 'Customer wrote', value: expect.stringContaining('reset the password') },
      ]),
    );
    expect(await disputesFrom(id)).toEqual([]);
  });

  it('closes a triaged message with the reply the person edited', async () => {
    const id = '<triage-close@mail.example.com>';
    const run = await arrive(
      id,
      'Alan Turing <alan@example.com>',
      'Conference',
      'Would your team like to speak at our conference in March about payments at scale?',
    );
    const reply = 'Hello Alan, thank you for thinking of us. Please write to events@northwind.test about talks.';
    await decide(run, { decision: 'approve', edits: { action: 'close', reply } });
    const done = await t.waitForRun(run.id, isFinished);
    expect(done.output).toMatchObject({ status: 'closed', disputeRunId: null } satisfies Partial<EmailIntakeOutput>);
    const sent = await t.smtp.waitFor((m) => m.headers['in-reply-to'] === id && effect('email-triage-reply')(m));
    expect(sent.text.trim()).toBe(reply);
    const thread = await emailModels(t.app.store.connection).threads.findById(id).lean();
    expect(thread?.stage).toBe('closed');
    expect(await disputesFrom(id)).toEqual([]);
  });

  it('closes without a reply when the person rejects', async () => {
    const id = '<triage-reject@mail.example.com>';
    const run = await arrive(id, 'Alan Turing <alan@example.com>', 'Newsletter', 'Our weekly newsletter is here.');
    await decide(run, { decision: 'reject' });
    const done = await t.waitForRun(run.id, isFinished);
    expect(done.output).toMatchObject({ status: 'closed' });
    expect(
      t.smtp.messages.filter((m) => m.headers['in-reply-to'] === id).map((m) => m.headers['x-countersign-effect']),
    ).toEqual(['email-receipt']);
  });

  it('continues intake and starts the dispute when the person says it is one', async () => {
    const id = '<triage-unclear@mail.example.com>';
    const customer = 'grace@example.com';
    const run = await arrive(id, `Grace Hopper <${customer}>`, 'My invoice', 'Please look at my invoice.');
    const receipt = await t.smtp.waitFor((m) => m.headers['in-reply-to'] === id && effect('email-receipt')(m));
    expect(receipt.text).toContain('We could not tell what this is about; a person will read it');
    expect(run.output).toBeNull();
    await decide(run, { decision: 'approve', edits: { action: 'dispute' } });
    const question = await t.smtp.waitFor((m) => m.to.includes(customer) && effect('email-question')(m));
    expect(question.text).toMatch(/charge id/);
    const answerId = '<triage-unclear-answer@mail.example.com>';
    await box.append(
      customerMail({
        messageId: answerId,
        from: `Grace Hopper <${customer}>`,
        subject: `Re: ${question.subject}`,
        body: 'I was charged twice for my subscription: 49.00 EUR, charge ch_1002, on 3 November.',
        headers: { 'In-Reply-To': question.messageId ?? '', References: `${id} ${question.messageId ?? ''}` },
      }),
    );
    const done = await t.waitForRun(run.id, isFinished);
    expect(done.output).toMatchObject({ status: 'started', kind: 'unclear' });
    const disputes = await disputesFrom(id);
    expect(disputes).toHaveLength(1);
    expect(disputes[0]?.input).toMatchObject({ chargeId: 'ch_1002', amount: 49, currency: 'EUR' });
  });
});
