import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { createCountersign } from '../compose.js';
import type { App } from '../src/app.js';
import { parseEnv } from '../src/config.js';
import { ephemeralPort } from '../src/services/net.js';
import { hasPendingCheckpoint } from './support/app.js';
import { waitFor } from './support/imap-app.js';
import { APPROVALS, PEOPLE, slackAppEnv } from './support/slack-app.js';
import { appMention, blockActions, eventCallback } from './support/slack-payloads.js';
import { watchSlackQueue } from './support/slack-queue.js';
import { type SocketStandin, startSocketStandin } from './support/slack-socket-standin.js';
import { APP_TOKEN, type SlackStandin, startSlackStandin } from './support/slack-standin.js';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';

/**
 * Socket Mode end to end: the app runs with SLACK_APP_TOKEN and no signing secret, so Slack reaches it only over
 * the WebSocket it opens itself (apps.connections.open → wss URL → hello → envelopes → acks).
 */

let app: App;
let slack: SlackStandin;
let socket: SocketStandin;
let queue: ReturnType<typeof watchSlackQueue>;
let smtp: SmtpCapture;
const SUPPORT = 'CSOCKET';

beforeAll(async () => {
  slack = await startSlackStandin();
  socket = await startSocketStandin();
  smtp = await startSmtpCapture();
  slack.useSocketMode(() => socket.nextUrl());
  for (const p of Object.values(PEOPLE)) slack.addUser(p);
  slack.addChannel(APPROVALS, [PEOPLE.alice.id, PEOPLE.carol.id]);
  slack.addChannel(SUPPORT, [PEOPLE.carol.id]);
  const port = await ephemeralPort();
  const env = {
    ...slackAppEnv({ label: 'slacksocket', port, smtpUrl: smtp.url, slackUrl: slack.url }),
    // Socket Mode only: without a signing secret there is no HTTP receiver.
    SLACK_SIGNING_SECRET: undefined,
    SLACK_APP_TOKEN: APP_TOKEN,
  };
  app = await createCountersign({ config: parseEnv(env), seedSampleData: true, settings: { reconcileGraceMs: 500 } });
  app.startWorkers();
  queue = watchSlackQueue(app.config.queuePrefix);
  await socket.waitFor(() => socket.connections === 1 && socket.open === 1);
});
afterAll(async () => {
  await queue?.close();
  await app?.close();
  await socket?.close();
  await slack?.close();
  await smtp?.close();
});

const threadReplies = (ts: string) => slack.messagesIn(SUPPORT).filter((m) => m.threadTs === ts);

describe('Socket Mode', () => {
  it('opened its link with the app-level token through apps.connections.open', () => {
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
    expect(socket.refused).toBe(0);
  });

  it('acks an app_mention envelope once, answers it once, and a redelivery of the envelope acts no more', async () => {
    const ts = '1730000001.000100';
    const envelope = socket.deliver(
      'events_api',
      eventCallback(
        appMention({
          user: PEOPLE.carol.id,
          channel: SUPPORT,
          ts,
          text: 'The customer with account <mailto:sock@example.com|sock@example.com> says they were charged twice for Pro: 49,00 € each, charge ch_1002.',
        }),
      ),
    );
    const [ack] = await socket.waitFor(() => (socket.acksFor(envelope.envelope_id).length ? socket.acks : false));
    expect(ack?.envelope_id).toBeDefined();
    await slack.waitFor(() => threadReplies(ts).find((m) => m.text.includes('started the dispute')), 90_000);
    // Slack re-sends an envelope it did not see acknowledged: same envelope_id, same event_id, retry_attempt 1.
    socket.redeliver(envelope);
    await socket.waitFor(() => socket.acksFor(envelope.envelope_id).length === 2);
    await queue.idle();
    expect(socket.acksFor(envelope.envelope_id).map((a) => a.payload)).toEqual([{}, {}]);
    expect(threadReplies(ts)).toHaveLength(1);
    expect(await app.store.runs.countDocuments({ workflow: 'card-dispute', 'source.key': `${SUPPORT}:${ts}` })).toBe(1);
  });

  it('acks a button click once, decides once, and a redelivered click is acked without acting', async () => {
    const { runId } = await app.engine.startRun({
      workflow: 'card-dispute',
      input: { ...SAMPLE_DISPUTES.needsReview, customerEmail: 'socketclick@example.com' },
      source: { channel: 'api' },
    });
    const run = await waitFor('a pending checkpoint', async () => {
      const r = await app.engine.getRun(runId);
      return r && hasPendingCheckpoint(r) ? r : null;
    });
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const card = await slack.waitFor(() =>
      slack.messagesIn(APPROVALS).find((m) => !m.threadTs && JSON.stringify(m.blocks).includes(checkpointId)),
    );
    const click = socket.deliver(
      'interactive',
      blockActions({
        user: PEOPLE.alice.id,
        actionId: 'countersign.approve',
        value: checkpointId,
        channel: card.channel,
        messageTs: card.ts,
      }),
    );
    await socket.waitFor(() => socket.acksFor(click.envelope_id).length === 1);
    await waitFor('the checkpoint approved', async () => {
      const cp = await app.engine.getCheckpoint(checkpointId);
      return cp?.status === 'approved' ? cp : null;
    });
    await queue.idle();
    const decided = await app.engine.getCheckpoint(checkpointId);
    const callsBefore = slack.calls.length;
    socket.redeliver(click);
    await socket.waitFor(() => socket.acksFor(click.envelope_id).length === 2);
    await queue.idle();
    // A second decision attempt would at least answer "already approved" and write an audit line: neither happens.
    expect(slack.calls.slice(callsBefore).map((c) => c.method)).toEqual([]);
    const after = await app.engine.getCheckpoint(checkpointId);
    expect(after?.audit).toEqual(decided?.audit);
    expect(after?.decision).toEqual(decided?.decision);
  });

  it('survives a message it cannot read, then reconnects on disconnect (refresh_requested) and keeps working', async () => {
    socket.sendRaw('this is not json');
    // Slack's own hello, recorded in its SDK's tests, sent again on a live link: the client must take it in stride.
    socket.sendRaw(
      readFileSync(fileURLToPath(new URL('./fixtures/slack-corpus/sdk-hello.json', import.meta.url)), 'utf8'),
    );
    socket.disconnect('refresh_requested');
    await socket.waitFor(() => socket.connections === 2 && socket.open === 1, 90_000);
    expect(slack.callsTo('apps.connections.open')).toHaveLength(2);
    const ts = '1730000002.000100';
    const envelope = socket.deliver(
      'events_api',
      eventCallback(
        appMention({
          user: PEOPLE.carol.id,
          channel: SUPPORT,
          ts,
          text: 'Customer account again@example.com did not authorize the charge of $199 on their card.',
        }),
      ),
    );
    await socket.waitFor(() => socket.acksFor(envelope.envelope_id).length === 1);
    expect(socket.acksFor(envelope.envelope_id)[0]?.connection).toBe(2);
    await slack.waitFor(() => threadReplies(ts).find((m) => m.text.includes('charge id')), 90_000);
  });
});
