import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCountersign } from '../compose.js';
import type { App } from '../src/app.js';
import { parseEnv } from '../src/config.js';
import { ephemeralPort } from '../src/services/net.js';
import { APPROVALS, PEOPLE, SIGNING_SECRET, slackAppEnv } from './support/slack-app.js';
import { appMention, eventCallback } from './support/slack-payloads.js';
import { slackHeaders } from './support/slack-sign.js';
import { type SlackStandin, startSlackStandin } from './support/slack-standin.js';
import { type SmtpCapture, startSmtpCapture } from './support/smtp-capture.js';
import { killedBy, stopWorker, workerProcesses } from './support/worker-process.js';

/**
 * A Slack conversation survives workers killed with SIGKILL at its worst moments: right after the question was
 * posted (before the post was recorded), and right after the answer was read (before the read was journaled).
 * The HTTP side runs in this process; the workers are real `countersign worker` processes.
 */

const SUPPORT = 'CCRASH';
let app: App;
let slack: SlackStandin;
let smtp: SmtpCapture;
let env: Record<string, string>;
let baseUrl: string;
const workers = workerProcesses(() => env);

beforeAll(async () => {
  slack = await startSlackStandin();
  smtp = await startSmtpCapture();
  for (const p of Object.values(PEOPLE)) slack.addUser(p);
  slack.addChannel(APPROVALS, [PEOPLE.alice.id, PEOPLE.carol.id]);
  slack.addChannel(SUPPORT, [PEOPLE.carol.id]);
  const port = await ephemeralPort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = {
    ...slackAppEnv({ label: 'slackcrash', port, smtpUrl: smtp.url, slackUrl: slack.url }),
  };
  app = await createCountersign({ config: parseEnv(env), seedSampleData: true });
  await app.listen(port);
});
afterAll(async () => {
  workers.killAll();
  await app?.close();
  await slack?.close();
  await smtp?.close();
});

async function event(payload: object) {
  const body = JSON.stringify(payload);
  const res = await fetch(`${baseUrl}/slack/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...slackHeaders(SIGNING_SECRET, body) },
    body,
  });
  expect(res.status).toBe(200);
}

const replies = (threadTs: string) => slack.messagesIn(SUPPORT).filter((m) => m.threadTs === threadTs);

describe('a Slack conversation with workers killed (SIGKILL)', () => {
  it('asks once and starts the dispute once across two crashes', async () => {
    const ts = '1740000001.000100';
    // Worker 1 dies right after Slack accepted the question, before the post was recorded anywhere.
    const first = workers.start('after-slack-post:slack-intake-question');
    await event(
      eventCallback(
        appMention({
          user: PEOPLE.carol.id,
          channel: SUPPORT,
          ts,
          text: 'Customer account crash@example.com did not authorize the charge of $199 on their card last week.',
        }),
      ),
    );
    expect(await killedBy(first)).toBe('SIGKILL');
    expect(replies(ts).filter((m) => m.text.includes('charge id'))).toHaveLength(1);

    // Worker 2 retries the step: it finds our marker in the thread (conversations.replies) instead of posting again.
    // It then dies right after reading the answer, before that read was journaled.
    const second = workers.start('after-step:read-answer-0-0');
    await slack.waitFor(() => slack.callsTo('conversations.replies').length > 0, 60_000);
    const intake = await app.store.runs.findOne({ workflow: 'slack-intake', 'source.key': `intake:${SUPPORT}:${ts}` });
    await waitForWaiting(intake?._id ?? '');
    await event(
      eventCallback({
        type: 'message',
        user: PEOPLE.carol.id,
        text: 'It is ch_2001.',
        ts: '1740000001.000200',
        thread_ts: ts,
        channel: SUPPORT,
        channel_type: 'channel',
      }),
    );
    expect(await killedBy(second)).toBe('SIGKILL');

    // Worker 3 reads the answer again from the stored thread and finishes.
    const third = workers.start();
    await slack.waitFor(() => replies(ts).find((m) => m.text.includes('started the dispute')), 60_000);
    expect(replies(ts).map((m) => (m.text.includes('charge id') ? 'question' : 'started'))).toEqual([
      'question',
      'started',
    ]);
    const disputes = await app.store.runs.find({ workflow: 'card-dispute', 'source.key': `${SUPPORT}:${ts}` }).lean();
    expect(disputes).toHaveLength(1);
    expect(disputes[0]?.input).toMatchObject({ customerEmail: 'crash@example.com', chargeId: 'ch_2001', amount: 199 });
    await stopWorker(third);
  }, 180_000);
});

/** The intake run is parked on its wait for the thread's next message. */
async function waitForWaiting(runId: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = await app.engine.getRun(runId);
    if (run?.steps.some((s) => s.name.startsWith('answer-0') && s.status === 'waiting')) return;
    if (Date.now() > deadline) throw new Error(`run ${runId} never waited for an answer: ${JSON.stringify(run)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
