import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckpointDoc } from '../src/store/models.js';
import { PEOPLE, SIGNING_SECRET, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { blockActions } from './support/slack-payloads.js';
import { slackSignature } from './support/slack-sign.js';

let t: SlackTestApp;
let cp: CheckpointDoc;
let card: { channel: string; ts: string };

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slacksign' });
  cp = (await t.startDispute()).checkpoint;
  card = await t.card(cp._id);
});
afterAll(async () => {
  await t?.close();
});

const approveBody = () =>
  new URLSearchParams({
    payload: JSON.stringify(
      blockActions({
        user: PEOPLE.alice.id,
        actionId: 'countersign.approve',
        value: cp._id,
        channel: card.channel,
        messageTs: card.ts,
      }),
    ),
  }).toString();
const form = 'application/x-www-form-urlencoded';

async function expectNothingChanged() {
  const now = await t.app.engine.getCheckpoint(cp._id);
  expect(now).toMatchObject({ status: 'pending', version: cp.version });
  expect(now?.audit).toEqual([]);
  const jobs = await t.app.store.connection.db?.collection('slack_events').countDocuments();
  expect(jobs ?? 0).toBe(0);
}

describe('requests to /slack/events that Slack did not sign', () => {
  it('refuses a forged signature with 401', async () => {
    const res = await t.post(approveBody(), form, { signature: `v0=${'0'.repeat(64)}` });
    expect(res.status).toBe(401);
    await expectNothingChanged();
  });

  it('refuses a body altered after signing with 401', async () => {
    const res = await t.post(approveBody(), form, {
      alter: (b) => b.replace('countersign.approve', 'countersign.reject'),
    });
    expect(res.status).toBe(401);
    await expectNothingChanged();
  });

  it('refuses a correctly signed request whose timestamp is 6 minutes old with 401', async () => {
    const body = approveBody();
    const old = Math.floor(Date.now() / 1000) - 6 * 60;
    const res = await t.post(body, form, {
      timestamp: old,
      signature: slackSignature(SIGNING_SECRET, old, body),
    });
    expect(res.status).toBe(401);
    await expectNothingChanged();
  });

  it('refuses a request without signature headers with 401', async () => {
    const res = await t.post(approveBody(), form, { signature: null });
    expect(res.status).toBe(401);
    await expectNothingChanged();
  });

  it('and still decides on the same click when it is signed', async () => {
    const res = await t.post(approveBody(), form);
    expect(res.status).toBe(200);
    const deadline = Date.now() + 45_000;
    while ((await t.app.engine.getCheckpoint(cp._id))?.status === 'pending' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await t.app.engine.getCheckpoint(cp._id))?.status).toBe('approved');
  });
});
