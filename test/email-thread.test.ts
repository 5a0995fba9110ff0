import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APPROVER, hasPendingCheckpoint, isFinished, type TestApp } from './support/app.js';
import { type TestMailbox, testMailbox } from './support/dovecot.js';
import { customerMail, handled, startEmailApp, waitFor } from './support/imap-app.js';

let box: TestMailbox;
let t: TestApp;

beforeAll(async () => {
  box = await testMailbox('thread');
  t = await startEmailApp('emailthread', box);
});
afterAll(async () => {
  await t?.close();
});

const CUSTOMER = 'grace@example.com';
const FIRST = '<thread-start@mail.example.com>';

describe('a customer thread by email', () => {
  it('acknowledges, asks for what is missing, runs the case and answers the outcome, all in one thread', async () => {
    await box.append(
      customerMail({
        messageId: FIRST,
        from: `Grace Hopper <${CUSTOMER}>`,
        subject: 'Charge I never made',
        body: 'I did not authorize the charge of $199 on my card last week. Please refund it.',
      }),
    );
    const receipt = await t.smtp.waitFor(
      (m) =>
        m.to.includes(CUSTOMER) &&
        /understood it as a dispute about a charge of 199.00 USD on your card \(not authorised by you\)/.test(m.text),
    );
    expect(receipt).toMatchObject({ subject: 'Re: Charge I never made' });
    expect(receipt.headers['in-reply-to']).toBe(FIRST);
    expect(receipt.headers.references).toBe(FIRST);

    const question = await t.smtp.waitFor((m) => m.to.includes(CUSTOMER) && /charge id/.test(m.text));
    expect(question.subject).toBe('Re: Charge I never made');
    expect(question.headers['in-reply-to']).toBe(FIRST);
    expect(question.headers['auto-submitted']).toBe('auto-generated');

    // The customer answers the question from their mail client: Re: Re:, In-Reply-To our question.
    const answerId = '<thread-answer@mail.example.com>';
    await box.append(
      customerMail({
        messageId: answerId,
        from: `Grace Hopper <${CUSTOMER}>`,
        subject: `RE: ${question.subject}`,
        body: `Sure, it is ch_2001.\n\nOn Tue, Countersign wrote:\n> ${question.text.split('\n')[2] ?? ''}`,
        headers: { 'In-Reply-To': question.messageId ?? '', References: `${FIRST} ${question.messageId ?? ''}` },
      }),
    );
    const answer = await handled(t, answerId);
    expect(answer).toMatchObject({ status: 'done', kind: 'follow-up' });
    const intake = await t.waitForRun(answer.runId ?? '', isFinished);
    expect(intake.output).toMatchObject({ status: 'started' });
    const caseId = (intake.output as { disputeRunId: string }).disputeRunId;
    const caseRun = await t.waitForRun(caseId, hasPendingCheckpoint);
    expect(caseRun.input).toMatchObject({ chargeId: 'ch_2001', amount: 199, currency: 'USD', customerEmail: CUSTOMER });

    // A later message in the thread joins the running case instead of opening a new one.
    const laterId = '<thread-later@mail.example.com>';
    await box.append(
      customerMail({
        messageId: laterId,
        from: `Grace Hopper <${CUSTOMER}>`,
        subject: 'Re: Charge I never made',
        body: 'Also: my card was stolen on the 2nd, I have a police report.',
        headers: { 'In-Reply-To': answerId, References: `${FIRST} ${answerId}` },
      }),
    );
    expect(await handled(t, laterId)).toMatchObject({ kind: 'follow-up', runId: caseId });

    // The approver decides from the email: the link opens a page, the form edits the reply and approves.
    const approverMail = await t.smtp.waitFor(
      (m) => m.to.includes(APPROVER) && m.subject.startsWith('Decision needed'),
    );
    expect(approverMail.html).toContain('Review and approve');
    expect(approverMail.text).toContain('Sender check: not verified');
    const link = /(http:\/\/\S+\/approvals\/[A-Za-z0-9_.-]+)/.exec(approverMail.text)?.[1] ?? '';
    const page = await fetch(link);
    expect(page.status).toBe(200);
    const edited = 'Dear Grace, we have refunded the charge ch_2001 of 199.00 USD in full. Sorry for the trouble.';
    const posted = await fetch(link, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ decision: 'approve', 'edit.outcome': 'accept', 'edit.reply': edited }).toString(),
    });
    expect(posted.status).toBe(200);
    const done = await t.waitForRun(caseId, isFinished);
    expect(done.output).toMatchObject({ outcome: 'accept', decidedBy: APPROVER, replySent: true });
    expect(done.checkpoints[0]?.decision?.diff.map((d) => d.field)).toContain('reply');

    const outcome = await t.smtp.waitFor((m) => m.to.includes(CUSTOMER) && m.text.trim() === edited);
    expect(outcome.subject).toBe('Re: Charge I never made');
    expect(outcome.headers['in-reply-to']).toBe(answerId);
    const refs = outcome.headers.references?.split(/\s+/) ?? [];
    expect(refs[0]).toBe(FIRST);
    expect(refs).toContain(question.messageId);
    expect(refs.at(-1)).toBe(answerId);
    const toCustomer = t.smtp.messages.filter((m) => m.to.includes(CUSTOMER));
    expect(toCustomer.map((m) => m.subject)).toEqual(Array(3).fill('Re: Charge I never made'));
    await waitFor('the page to show who decided', async () => (await (await fetch(link)).text()).includes(APPROVER));
  });
});
