import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer } from '../src/channels/mailer.js';
import { computeDigest } from '../src/digest/compute.js';
import { type DigestOptions, sendDigest } from '../src/digest/scheduler.js';
import { findVersionChanges, type VersionedDecision } from '../src/digest/version-changes.js';
import { createFailpoints } from '../src/engine/failpoints.js';
import { type AgreementDoc, recordAgreement } from '../src/store/agreements.js';
import { digestEmail } from '../templates/email/digest.js';
import { startTestApp, type TestApp } from './support/app.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The digest is sent at T; the previous one a day before (the first digest's period). */
const T = new Date('2026-11-30T08:00:00Z');
const ago = (ms: number) => new Date(T.getTime() - ms);
const MANAGER = 'versions-manager@example.com';

const DM_OLDEST = '000aaa111bbb';
const DM_OLD = '3f2a9c0b1d2e';
const DM_NEW = '9b1c0d4e5f6a';
const ANALYST = '5e6f7a8b9c0d';
const ADVISOR_OLD = 'aaaaaaaaaaaa';
const ADVISOR_NEW = 'bbbbbbbbbbbb';

let t: TestApp;
let options: DigestOptions;
let serial = 0;

/** One decided checkpoint as the engine records it; a person's decision on a clear proposal unless told otherwise. */
function agreement(
  workflow: string,
  decidedAt: Date,
  versions: Record<string, string> | undefined,
  agreed: boolean | null,
  decidedBy: AgreementDoc['decidedBy'] = 'person',
): AgreementDoc {
  serial++;
  return {
    _id: `${workflow}-cp-${serial}`,
    v: 1,
    runId: `${workflow}-run-${serial}`,
    workflow,
    checkpoint: 'review',
    agents: Object.keys(versions ?? {}),
    field: 'outcome',
    proposed: agreed === null ? null : 'accept',
    final: agreed === false ? 'reject' : 'accept',
    decision: 'approve',
    editedFields: agreed === false ? ['outcome'] : [],
    agreed,
    decidedBy,
    actor: decidedBy === 'person' ? 'lead@example.com' : decidedBy,
    channel: decidedBy === 'person' ? 'api' : decidedBy,
    decidedAt,
    recordedAt: decidedAt,
    confidence: null,
    amount: null,
    ...(versions ? { versions } : {}),
  };
}

/** `n` decisions spread evenly over [start, end), the first `agreedCount` of them agreeing. */
function spread(
  workflow: string,
  start: Date,
  end: Date,
  n: number,
  agreedCount: number,
  versions: Record<string, string>,
): AgreementDoc[] {
  const step = (end.getTime() - start.getTime()) / n;
  return Array.from({ length: n }, (_, i) =>
    agreement(workflow, new Date(start.getTime() + i * step), versions, i < agreedCount),
  );
}

const CHANGE = new Date('2026-11-29T09:00:00Z');
const ADVISOR_CHANGE = ago(2 * HOUR);

beforeAll(async () => {
  t = await startTestApp({ label: 'digest-versions' });
  const mailer = createMailer({
    transport: nodemailer.createTransport(t.smtp.url),
    from: 'Countersign <digest@northwind.test>',
    store: t.app.store,
    failpoints: createFailpoints(new Set(), pino({ level: 'silent' })),
    logger: pino({ level: 'silent' }),
  });
  options = {
    connection: t.app.deps.queues.connection,
    prefix: t.env.COUNTERSIGN_QUEUE_PREFIX ?? 'x',
    mailer,
    logger: pino({ level: 'silent' }),
    recipients: [MANAGER],
    cron: '0 8 * * 1-5',
    timezones: {},
    sendEmpty: true,
    dashboardUrl: `${t.baseUrl}/`,
    engine: t.app.engine,
    store: t.app.store,
    linkFor: (cp, r) => `${t.baseUrl}/approvals/test-${cp._id}-${r}`,
    now: () => T,
  };
  const dispute = (manager: string) => ({ 'dispute-manager': manager, 'language-analyst': ANALYST });
  const docs = [
    // card-dispute: an older version, records from before versions were kept, then 40 decisions on DM_OLD (38
    // agreed), the change the day before the digest, 10 decisions on DM_NEW (8 agreed).
    agreement('card-dispute', ago(28 * DAY), dispute(DM_OLDEST), false),
    ...Array.from({ length: 5 }, (_, i) => agreement('card-dispute', ago(26 * DAY - i * HOUR), undefined, false)),
    ...spread('card-dispute', ago(20 * DAY), ago(DAY + HOUR), 40, 38, dispute(DM_OLD)),
    ...spread('card-dispute', CHANGE, ago(HOUR), 10, 8, dispute(DM_NEW)),
    // Neither the policy's verdicts nor decisions on proposals that asked a person are compared.
    agreement('card-dispute', ago(3 * HOUR), dispute(DM_NEW), false, 'policy'),
    agreement('card-dispute', ago(3 * HOUR), dispute(DM_NEW), null),
    // refund-request: changed two hours ago, three decisions since.
    ...spread('refund-request', ago(6 * DAY), ago(3 * HOUR), 6, 3, { 'refund-advisor': ADVISOR_OLD }),
    ...spread('refund-request', ADVISOR_CHANGE, T, 3, 3, { 'refund-advisor': ADVISOR_NEW }),
    // expense-claim: the same version throughout.
    ...spread('expense-claim', ago(10 * DAY), ago(HOUR), 12, 9, { 'expense-checker': DM_OLD }),
    // travel-booking: changed three days ago, before the period.
    ...spread('travel-booking', ago(9 * DAY), ago(3 * DAY), 6, 6, { planner: DM_OLD }),
    ...spread('travel-booking', ago(3 * DAY), ago(HOUR), 6, 2, { planner: DM_NEW }),
  ];
  for (const doc of docs) expect(await recordAgreement(t.app.store, doc)).toBe(true);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

describe('the digest on agent version changes', () => {
  it("reports a workflow's latest version change in the period with agreement before and after it", async () => {
    const data = await computeDigest(options, MANAGER, ago(DAY), T);
    expect(data.versionChanges.find((c) => c.workflow === 'card-dispute')).toEqual({
      workflow: 'card-dispute',
      agents: [{ agent: 'dispute-manager', from: DM_OLD, to: DM_NEW }],
      changedAt: CHANGE,
      before: { compared: 40, agreed: 38 },
      after: { compared: 10, agreed: 8 },
      enoughAfter: true,
    });
    const { text, html } = digestEmail(data, { timeZone: 'UTC', dashboardUrl: t.baseUrl });
    expect(text).toContain(
      'card-dispute: dispute-manager 3f2a9c… → 9b1c0d… on 2026-11-29 — agreement 95% (40 decisions) before, 80% (10) after',
    );
    expect(html).toContain('Agent versions changed');
    expect(html).toContain('dispute-manager 3f2a9c… → 9b1c0d… on 2026-11-29');
  });

  it('says when too few decisions were made after a change to tell', async () => {
    const data = await computeDigest(options, MANAGER, ago(DAY), T);
    expect(data.versionChanges.find((c) => c.workflow === 'refund-request')).toMatchObject({
      changedAt: ADVISOR_CHANGE,
      before: { compared: 6, agreed: 3 },
      after: { compared: 3, agreed: 3 },
      enoughAfter: false,
    });
    const { text } = digestEmail(data, { timeZone: 'UTC', dashboardUrl: t.baseUrl });
    expect(text).toContain(
      'refund-request: refund-advisor aaaaaa… → bbbbbb… on 2026-11-30 — agreement 50% (6 decisions) before, not enough decisions yet after the change (3)',
    );
  });

  it('has no line for a workflow whose versions did not change, or changed before the period', async () => {
    const data = await computeDigest(options, MANAGER, ago(DAY), T);
    expect(data.versionChanges.map((c) => c.workflow)).toEqual(['card-dispute', 'refund-request']);
    const { text } = digestEmail(data, { timeZone: 'UTC', dashboardUrl: t.baseUrl });
    const section = text.split('Agent versions changed\n')[1]?.split('\n\n')[0] ?? '';
    expect(section.split('\n').map((line) => line.trim().split(':')[0])).toEqual(['card-dispute', 'refund-request']);
    // Three days is in the period of a weekly digest.
    const weekly = await computeDigest(options, MANAGER, ago(7 * DAY), T);
    expect(weekly.versionChanges.find((c) => c.workflow === 'travel-booking')).toMatchObject({
      agents: [{ agent: 'planner', from: DM_OLD, to: DM_NEW }],
      before: { compared: 6, agreed: 6 },
      after: { compared: 6, agreed: 2 },
    });
  });

  it('sends the line once: the next digest, after the change, has none', async () => {
    expect(await sendDigest(options, MANAGER, 'versions-1')).toBe('sent');
    const first = await t.smtp.waitFor((m) => m.to.includes(MANAGER));
    expect(first.text).toContain('card-dispute: dispute-manager 3f2a9c… → 9b1c0d… on 2026-11-29');

    await recordAgreement(t.app.store, agreement('card-dispute', new Date(T.getTime() + HOUR), {}, true));
    const next = { ...options, now: () => new Date(T.getTime() + DAY) };
    expect(await sendDigest(next, MANAGER, 'versions-2')).toBe('sent');
    const second = await t.smtp.waitFor((m) => m.to.includes(MANAGER) && m !== first);
    expect(second.text).not.toContain('Agent versions changed');
  });
});

describe('finding the change among decisions', () => {
  const at = (hours: number) => new Date(T.getTime() + hours * HOUR);
  const decisions = (versions: string[], agreed = (_: number) => true): VersionedDecision[] =>
    versions.map((v, i) => ({ workflow: 'w', decidedAt: at(i), agreed: agreed(i), versions: { agent: v } }));

  it('dates a rolling deploy by the first decision on the new version, each side counting its own version', () => {
    // Old and new workers answered side by side for a while.
    const [change] = findVersionChanges(decisions(['a', 'a', 'b', 'a', 'b', 'b']), at(0), at(10));
    expect(change).toMatchObject({
      agents: [{ agent: 'agent', from: 'a', to: 'b' }],
      changedAt: at(2),
      before: { compared: 3 },
      after: { compared: 3 },
    });
  });

  it('sees a revert as a change back, counting only decisions since the version before it', () => {
    const [change] = findVersionChanges(
      decisions(['a', 'a', 'b', 'b', 'b', 'a'], (i) => i !== 3),
      at(0),
      at(10),
    );
    expect(change).toMatchObject({
      agents: [{ agent: 'agent', from: 'b', to: 'a' }],
      changedAt: at(5),
      before: { compared: 3, agreed: 2 },
      after: { compared: 1, agreed: 1 },
    });
  });

  it('names every agent changed at the same moment on one line', () => {
    const list: VersionedDecision[] = [
      { workflow: 'w', decidedAt: at(0), agreed: true, versions: { manager: 'm1', analyst: 'x1' } },
      { workflow: 'w', decidedAt: at(1), agreed: true, versions: { manager: 'm2', analyst: 'x2' } },
    ];
    expect(findVersionChanges(list, at(0), at(2))[0]?.agents).toEqual([
      { agent: 'analyst', from: 'x1', to: 'x2' },
      { agent: 'manager', from: 'm1', to: 'm2' },
    ]);
  });

  it('finds nothing when the first version recorded is the only one', () => {
    expect(findVersionChanges(decisions(['a', 'a', 'a']), at(0), at(10))).toEqual([]);
  });
});
