import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { signWebhook } from '../src/http/signature.js';
import { appMention, eventCallback } from '../test/support/slack-payloads.js';
import { slackHeaders } from '../test/support/slack-sign.js';
import { pick, type Random } from './random.js';

export type IntakeChannel = 'webhook' | 'email' | 'slack';

/** One inbound message as the driver sent it, and what the app answered, attempt by attempt. */
export interface InboundRecord {
  index: number;
  channel: IntakeChannel;
  /** What the sender dedupes on: the Idempotency-Key, the Message-ID or the Slack event_id. */
  id: string;
  /** The run's `source.key` this message must lead to: the key, the Message-ID, or `<channel>:<ts>` of the thread. */
  sourceKey: string;
  sentAt: number;
  /** When the channel took it (2xx, or the IMAP APPEND); unset while still retrying or after giving up. */
  acceptedAt?: number;
  attempts: number;
  /** Each attempt's outcome: an HTTP status or a network error code. */
  outcomes: string[];
  /** Webhook only: the runId of every 2xx answer (all must be the same run). */
  runIds: string[];
  /** Why the sender stopped without the channel taking it (a 4xx, or the deadline). */
  gaveUp?: string;
}

export interface IntakeTargets {
  baseUrl: string;
  webhookSecret: string;
  slackSigningSecret: string;
  /** The Slack channel mentions are posted in (any channel the bot is in; intake is not restricted). */
  slackChannel: string;
  slackUser: string;
  /** IMAP APPEND to the inbox the app reads. */
  appendMail(raw: string): Promise<void>;
  /** Senders stop retrying here (a real sender's retry budget, compressed). */
  deadline: number;
}

const WEBHOOK_INPUTS = [SAMPLE_DISPUTES.clearAccept, SAMPLE_DISPUTES.clearReject, SAMPLE_DISPUTES.needsReview];
const EMAIL_BODIES = [
  'I was charged twice, 49.00 EUR, ch_1002. Please refund one of the two charges.',
  'I did not authorize this charge of 199 USD on my card, ch_2001. Please refund it.',
];
const SLACK_TEXTS = [
  (who: string) =>
    `The customer with account <mailto:${who}|${who}> says they were charged twice for Pro: 49,00 € each, charge ch_1002. Please refund one.`,
  (who: string) =>
    `Customer account <mailto:${who}|${who}> did not authorize the charge ch_2001 of $199 on their card last week and wants it refunded.`,
];
/** Slack's own schedule is immediately, after 1 minute and after 5 minutes; compressed so a short run sees all three. */
const SLACK_RETRY_DELAYS_MS = [1_000, 15_000, 60_000];
const REQUEST_TIMEOUT_MS = 10_000;
/** Slack counts a delivery as failed when it is not acknowledged within 3 seconds. */
const SLACK_ACK_TIMEOUT_MS = 3_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorCode = (err: unknown) => {
  const cause = (err as { cause?: { code?: string } }).cause;
  return cause?.code ?? (err as Error).name ?? 'error';
};

/** Exponential backoff with jitter, as webhook senders (Stripe, GitHub) retry: 1 s, 2 s, 4 s … capped at 15 s. */
const backoff = (attempt: number) => Math.min(15_000, 1_000 * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2);

/** The channel of message `index`, in roughly equal shares, in a seeded order. */
export function channelPlan(random: Random, runs: number): IntakeChannel[] {
  const plan = Array.from({ length: runs }, (_, i): IntakeChannel => (['webhook', 'email', 'slack'] as const)[i % 3]!);
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

/** Sends message `index` through `channel` and retries as that channel's real sender would, until it is taken. */
export async function sendInbound(
  t: IntakeTargets,
  o: { seed: number; index: number; channel: IntakeChannel; random: Random },
): Promise<InboundRecord> {
  const tag = `s${o.seed}n${o.index}`;
  const customer = `chaos.${tag}@example.com`;
  if (o.channel === 'webhook') {
    const input = { ...pick(o.random, WEBHOOK_INPUTS), description: `${pick(o.random, EMAIL_BODIES)} (case ${tag})` };
    return sendWebhook(t, o.index, `chaos-${tag}`, JSON.stringify(input));
  }
  if (o.channel === 'email') {
    const messageId = `<chaos-${tag}@customers.example>`;
    const raw = customerMail({
      from: `Customer ${o.index} <${customer}>`,
      messageId,
      body: pick(o.random, EMAIL_BODIES),
    });
    return sendMail(t, o.index, messageId, raw);
  }
  const ts = `${Math.floor(Date.now() / 1000)}.${String(o.index).padStart(6, '0')}`;
  const text = pick(o.random, SLACK_TEXTS)(customer);
  return sendSlackMention(t, o.index, ts, text);
}

async function sendWebhook(t: IntakeTargets, index: number, key: string, body: string): Promise<InboundRecord> {
  const rec: InboundRecord = newRecord(index, 'webhook', key, key);
  for (;;) {
    rec.attempts++;
    try {
      const res = await fetch(`${t.baseUrl}/webhooks/card-dispute`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': key,
          'x-countersign-signature': signWebhook(t.webhookSecret, body),
        },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      rec.outcomes.push(String(res.status));
      if (res.ok) {
        const json = (await res.json().catch(() => ({}))) as { runId?: unknown };
        if (typeof json.runId === 'string') rec.runIds.push(json.runId);
        rec.acceptedAt = Date.now();
        return rec;
      }
      if (res.status < 500 && res.status !== 429) {
        rec.gaveUp = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
        return rec;
      }
    } catch (err) {
      rec.outcomes.push(errorCode(err));
    }
    if (Date.now() > t.deadline) {
      rec.gaveUp = 'retry deadline passed';
      return rec;
    }
    await sleep(backoff(rec.attempts));
  }
}

async function sendMail(t: IntakeTargets, index: number, messageId: string, raw: string): Promise<InboundRecord> {
  const rec = newRecord(index, 'email', messageId, messageId);
  for (;;) {
    rec.attempts++;
    try {
      await t.appendMail(raw);
      rec.outcomes.push('appended');
      rec.acceptedAt = Date.now();
      return rec;
    } catch (err) {
      rec.outcomes.push(errorCode(err));
    }
    if (Date.now() > t.deadline) {
      rec.gaveUp = 'IMAP APPEND kept failing';
      return rec;
    }
    await sleep(backoff(rec.attempts));
  }
}

async function sendSlackMention(t: IntakeTargets, index: number, ts: string, text: string): Promise<InboundRecord> {
  const payload = eventCallback(appMention({ user: t.slackUser, channel: t.slackChannel, ts, text }));
  const rec = newRecord(index, 'slack', payload.event_id, `${t.slackChannel}:${ts}`);
  const body = JSON.stringify(payload);
  for (let retry = 0; ; retry++) {
    rec.attempts++;
    let reason = 'http_error';
    try {
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        ...slackHeaders(t.slackSigningSecret, body),
      };
      if (retry > 0) {
        headers['x-slack-retry-num'] = String(retry);
        headers['x-slack-retry-reason'] = rec.outcomes.at(-1) === 'TimeoutError' ? 'http_timeout' : 'http_error';
      }
      const res = await fetch(`${t.baseUrl}/slack/events`, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(SLACK_ACK_TIMEOUT_MS),
      });
      rec.outcomes.push(String(res.status));
      if (res.ok) {
        rec.acceptedAt = Date.now();
        return rec;
      }
    } catch (err) {
      reason = errorCode(err);
      rec.outcomes.push(reason);
    }
    const delay = SLACK_RETRY_DELAYS_MS[retry];
    if (delay === undefined) {
      rec.gaveUp = `Slack gives up after ${SLACK_RETRY_DELAYS_MS.length} retries (last: ${rec.outcomes.at(-1)})`;
      return rec;
    }
    await sleep(delay);
  }
}

function newRecord(index: number, channel: IntakeChannel, id: string, sourceKey: string): InboundRecord {
  return { index, channel, id, sourceKey, sentAt: Date.now(), attempts: 0, outcomes: [], runIds: [] };
}

/** A plain customer email as a mail server would deliver it. */
function customerMail(o: { from: string; messageId: string; body: string }): string {
  const headers = [
    `From: ${o.from}`,
    'To: disputes@northwind.test',
    'Subject: A charge on my card',
    `Message-ID: ${o.messageId}`,
    `Date: ${new Date().toUTCString()}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
  ];
  return `${headers.join('\r\n')}\r\n\r\n${o.body}\r\n`;
}
