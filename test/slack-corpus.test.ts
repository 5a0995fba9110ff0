import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { watchSlackQueue } from './support/slack-queue.js';

/**
 * Real Slack payloads from Slack's own SDK test suites (test/fixtures/slack-corpus/SOURCES.md), fed through the
 * signed /slack/events endpoint exactly as Slack's HTTP delivery sends them: events as JSON, interactivity as
 * `payload=<json>`, slash commands form-encoded. Each gets a 2xx well inside Slack's 3 seconds, and the effect
 * named in SOURCES.md: the right work, or a deliberate no-op; never a 5xx.
 */

const dir = fileURLToPath(new URL('./fixtures/slack-corpus/', import.meta.url));
const raw = (file: string) => readFileSync(`${dir}${file}`, 'utf8');
type Json = Record<string, unknown>;
const json = (file: string) => JSON.parse(raw(file)) as Json;
/** A Socket Mode envelope's payload is what the same delivery carries over HTTP. */
const payloadOf = (file: string) => json(file).payload as Json;

let t: SlackTestApp;
let queue: ReturnType<typeof watchSlackQueue>;
/** The channel the SDK payloads name; the bot is a member, as it must be to be mentioned there. */
const C111 = 'C111';

beforeAll(async () => {
  t = await startSlackTestApp({ label: 'slackcorpus' });
  t.slack.addChannel(C111, [PEOPLE.carol.id]);
  queue = watchSlackQueue(t.app.config.queuePrefix);
});
afterAll(async () => {
  await queue?.close();
  await t?.close();
});

async function timed(send: () => Promise<Response>) {
  const started = Date.now();
  const res = await send();
  const body = await res.text();
  return { status: res.status, body, ms: Date.now() - started };
}

const asEvent = (payload: Json, retryNum?: number) =>
  timed(() => t.event(payload, retryNum === undefined ? {} : { retryNum }));
const asInteraction = (payload: Json) => timed(() => t.interact(payload));
const asCommand = (fields: Json) =>
  timed(() => t.command(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)]))));

function expectAcked(r: { status: number; ms: number }) {
  expect(r.status).toBeGreaterThanOrEqual(200);
  expect(r.status).toBeLessThan(300);
  expect(r.ms).toBeLessThan(3_000);
}

/** Slack calls made while `fn` ran and the queue settled. */
async function callsDuring(fn: () => Promise<void>) {
  const before = t.slack.calls.length;
  await fn();
  return () => t.slack.calls.slice(before);
}

const intakeRuns = (channel: string, threadTs: string) =>
  t.app.store.runs.find({ 'source.key': `intake:${channel}:${threadTs}` }).lean();

/** The thread conversation a message would belong to never started (the no-op outcome for messages). */
async function expectNoConversation(channel: string, ts: string) {
  await probeQueue();
  expect(await intakeRuns(channel, ts)).toHaveLength(0);
  expect(t.slack.messagesIn(channel).filter((m) => m.threadTs === ts)).toHaveLength(0);
}

/** Every Slack job queued so far has run: what a no-op would have done, it has done by now. */
const probeQueue = () => queue.idle();

describe('real Events API payloads', () => {
  it('url_challenge.json: answers the challenge', async () => {
    const r = await asEvent(json('url_challenge.json'));
    expectAcked(r);
    expect(JSON.parse(r.body)).toEqual({ challenge: 'valid_challenge_token' });
  });

  it('sdk-envelope-app-mention.json: a top-level mention opens a conversation and asks what is missing', async () => {
    const payload = payloadOf('sdk-envelope-app-mention.json');
    const r = await asEvent(payload);
    expectAcked(r);
    const ts = '1610241741.000200';
    const question = await t.slack.waitFor(
      () => t.slack.messagesIn(C111).find((m) => m.threadTs === ts && m.text.includes('still need')),
      90_000,
    );
    expect(question.text).toContain('charge id');
    expect((await intakeRuns(C111, ts)).map((run) => run.workflow)).toEqual(['slack-intake']);
    // Slack's retry of the same delivery changes nothing.
    expectAcked(await asEvent(payload, 1));
    await probeQueue();
    expect(t.slack.messagesIn(C111).filter((m) => m.threadTs === ts)).toHaveLength(1);
  });

  it('sdk-envelope-message-mention.json: the message twin of a top-level mention is a no-op', async () => {
    // Same event_id as the app_mention file in the SDK's suite; a real delivery of the twin has its own.
    const payload = { ...payloadOf('sdk-envelope-message-mention.json'), event_id: 'Ev111-message' };
    expectAcked(await asEvent(payload));
    await probeQueue();
    // Its ts equals the mention's, whose conversation already asked its one question.
    expect(t.slack.messagesIn(C111).filter((m) => m.threadTs === '1610241741.000200')).toHaveLength(1);
  });

  it('bolt-envelope-message-retry.json: a retried top-level message (retry_attempt 1) is a no-op', async () => {
    const envelope = json('bolt-envelope-message-retry.json');
    const payload = { ...(envelope.payload as Json), event_id: 'Ev111-retry' };
    expectAcked(await asEvent(payload, Number(envelope.retry_attempt)));
    await expectNoConversation(C111, '1610197986.000300');
  });

  it('sdk-envelope-app-mention.json inside a thread (thread_ts added) joins that thread', async () => {
    const base = payloadOf('sdk-envelope-app-mention.json');
    const event = { ...(base.event as Json), ts: '1610241800.000300', thread_ts: '1610241799.000100' };
    expectAcked(await asEvent({ ...base, event_id: 'Ev111-thread', event }));
    await t.slack.waitFor(
      () => t.slack.messagesIn(C111).find((m) => m.threadTs === '1610241799.000100' && m.text.includes('still need')),
      90_000,
    );
    expect(await intakeRuns(C111, '1610241799.000100')).toHaveLength(1);
  });

  it('java-AppMentionPayload.json: an empty mention (placeholder ids filled) is asked for everything', async () => {
    const p = json('java-AppMentionPayload.json');
    const event = { ...(p.event as Json), channel: C111, user: PEOPLE.carol.id };
    expectAcked(await asEvent({ ...p, event_id: 'EvJavaAppMention', event }));
    const ts = '0000000000.000000';
    const q = await t.slack.waitFor(
      () => t.slack.messagesIn(C111).find((m) => m.threadTs === ts && m.text.includes('still need')),
      90_000,
    );
    expect(q.text).toContain('email address');
  });

  it('java-AppHomeOpenedPayload.json: publishes App Home for the user (user id filled)', async () => {
    const p = json('java-AppHomeOpenedPayload.json');
    const event = { ...(p.event as Json), user: PEOPLE.alice.id };
    expectAcked(await asEvent({ ...p, event_id: 'EvJavaHome', event }));
    await t.slack.waitFor(() => t.slack.callsTo('views.publish').find((c) => c.args.user_id === PEOPLE.alice.id));
  });

  for (const file of [
    'java-MessageChannelJoinPayload.json',
    'java-MessageMePayload.json',
    'java-MessageChannelTopicPayload.json',
  ]) {
    it(`${file}: a message subtype is a deliberate no-op`, async () => {
      const p = json(file);
      const recorded = await callsDuring(async () => {
        expectAcked(await asEvent({ ...p, event_id: `Ev-${file}` }));
        await probeQueue();
      });
      expect(recorded().filter((c) => c.method.startsWith('chat.'))).toEqual([]);
      expect(await t.app.store.runs.countDocuments({ 'source.key': /^intake::/ })).toBe(0);
    });
  }

  it('reaction_added.json (no event_id) and java-TokensRevokedPayload.json: unknown events are no-ops', async () => {
    const recorded = await callsDuring(async () => {
      expectAcked(await asEvent(json('reaction_added.json')));
      expectAcked(await asEvent({ ...json('java-TokensRevokedPayload.json'), event_id: 'EvJavaTokens' }));
      await probeQueue();
    });
    expect(recorded().filter((c) => c.method !== 'auth.test')).toEqual([]);
  });
});

describe('real interactivity and slash command payloads', () => {
  it('sdk-envelope-slash-command.json: a command we do not own is acknowledged at once and ignored', async () => {
    const recorded = await callsDuring(async () => {
      expectAcked(await asCommand(payloadOf('sdk-envelope-slash-command.json')));
    });
    expect(recorded().filter((c) => c.method === 'views.open')).toEqual([]);
  });

  it('java-SlashCommandPayload.json: an all-empty command is acknowledged and ignored', async () => {
    expectAcked(await asCommand(json('java-SlashCommandPayload.json')));
  });

  it('sdk-envelope-global-shortcut.json: a shortcut we do not own is acknowledged and ignored', async () => {
    const recorded = await callsDuring(async () => {
      expectAcked(await asInteraction(payloadOf('sdk-envelope-global-shortcut.json')));
    });
    expect(recorded().filter((c) => c.method === 'views.open')).toEqual([]);
  });

  it('java-ViewSubmissionPayload.json and java-ViewClosedPayload.json: modals we do not own are acknowledged', async () => {
    const submitted = await asInteraction(json('java-ViewSubmissionPayload.json'));
    expectAcked(submitted);
    // An empty 200 closes the modal: no response_action that could show someone else's form.
    expect(submitted.body).toBe('');
    expectAcked(await asInteraction(json('java-ViewClosedPayload.json')));
  });
});

describe('bodies Slack would never send', () => {
  it('a signed body of no known kind gets a 200 inside 3 seconds, and the app keeps working', async () => {
    expectAcked(await timed(() => t.post('{"type":"hello","num_connections":1}', 'application/json')));
    expectAcked(await asEvent(json('url_challenge.json')));
  });

  it('a signed body that is not JSON is refused with a 4xx, never a 5xx', async () => {
    const r = await timed(() => t.post('{"type":"event_callback",', 'application/json'));
    expect(r.status).toBeGreaterThanOrEqual(400);
    expect(r.status).toBeLessThan(500);
  });
});
