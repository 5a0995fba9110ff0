import { verifyApprovalToken } from '../src/approvals/tokens.js';
import { blockActions } from '../test/support/slack-payloads.js';
import { slackHeaders } from '../test/support/slack-sign.js';
import type { SlackStandin } from '../test/support/slack-standin.js';
import type { SmtpCapture } from '../test/support/smtp-capture.js';

export type DecisionChannel = 'api' | 'slack' | 'link';

/** One decision as a person sent it: through which channel, what, and how the app answered each attempt. */
export interface DecisionRecord {
  checkpointId: string;
  runId: string;
  /** The channel the driver meant to use. */
  planned: DecisionChannel;
  /** The channel that took it: `api` when the card or the mail never came and the driver fell back. */
  channel: DecisionChannel;
  decision: 'approve' | 'reject';
  startedAt: number;
  /** When the app answered 2xx (or 409/410 on a retry: an earlier attempt had landed). */
  landedAt?: number;
  attempts: number;
  outcomes: string[];
  /** Why the planned channel was not used. */
  fallback?: string;
  /** A first attempt answered "already decided": somebody else decided this checkpoint. */
  conflict?: string;
  gaveUp?: string;
}

export interface DecisionTargets {
  baseUrl: string;
  apiToken: string;
  appSecret: string;
  slackSigningSecret: string;
  slack: SlackStandin;
  smtp: Pick<SmtpCapture, 'messages'>;
  approvalsChannel: string;
  /** A member of the approvals channel: clicks come from this user. */
  slackApprover: string;
  /** Where a card or an approval mail must have arrived by before the driver decides through the API instead. */
  notifyTimeoutMs: number;
  /** The checkpoint's current editable values, for the link form (an untouched form is no edit). */
  valuesOf(checkpointId: string): Record<string, unknown> | undefined;
  /** Senders give up here. */
  deadline(): number;
}

const REQUEST_TIMEOUT_MS = 15_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const errorCode = (err: unknown) => (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name;
/** A person clicking again, or a client retrying: quick at first, then every few seconds. */
const retryDelay = (attempt: number) => Math.min(5_000, 500 * 2 ** (attempt - 1));

/** Decides one checkpoint the way a person would through `planned`, retrying until the app takes it. */
export async function sendDecision(
  t: DecisionTargets,
  o: { checkpointId: string; runId: string; planned: DecisionChannel; decision: 'approve' | 'reject' },
): Promise<DecisionRecord> {
  const rec: DecisionRecord = {
    ...o,
    channel: o.planned,
    startedAt: Date.now(),
    attempts: 0,
    outcomes: [],
  };
  // Nobody decides before the Slack card is up, whatever channel they then use. Deciding sooner is legitimate, but
  // a channel skips a checkpoint decided before its notification ran (src/engine/workers.ts), and then no
  // invariant could tell a card the app lost from one it rightly never posted.
  const card = await waitUntil(() => cardOf(t, o.checkpointId), t.notifyTimeoutMs);
  if (!card) rec.fallback = `no Slack card for ${o.checkpointId} within ${t.notifyTimeoutMs / 1000} s`;
  if (o.planned === 'slack' && card) return clickUntilTaken(t, rec, card);
  if (o.planned === 'link') {
    const link = await waitUntil(() => linkOf(t, o.checkpointId), t.notifyTimeoutMs);
    if (link) return submitUntilTaken(t, rec, link);
    rec.fallback = `no approval mail for ${o.checkpointId} within ${t.notifyTimeoutMs / 1000} s`;
  }
  rec.channel = 'api';
  return callApiUntilTaken(t, rec);
}

async function waitUntil<T>(probe: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined || Date.now() > deadline) return v;
    await sleep(250);
  }
}

function cardOf(t: DecisionTargets, checkpointId: string): { channel: string; ts: string } | undefined {
  const m = t.slack
    .messagesIn(t.approvalsChannel)
    .find((msg) => !msg.threadTs && JSON.stringify(msg.blocks).includes(checkpointId));
  return m ? { channel: m.channel, ts: m.ts } : undefined;
}

const LINK = /\/approvals\/([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)/g;

/** The approval link of `checkpointId` from the mails the approvers received. */
function linkOf(t: DecisionTargets, checkpointId: string): string | undefined {
  for (const mail of t.smtp.messages) {
    for (const match of `${mail.text}\n${mail.html ?? ''}`.matchAll(LINK)) {
      const token = match[1] ?? '';
      const check = verifyApprovalToken(t.appSecret, token, new Date());
      if (check.ok && check.payload.checkpointId === checkpointId) return `${t.baseUrl}/approvals/${token}`;
    }
  }
  return undefined;
}

/** Runs `attempt` until it says done; network errors and 5xx are retried, until the deadline. */
async function untilTaken(
  t: DecisionTargets,
  rec: DecisionRecord,
  attempt: () => Promise<Response>,
  alreadyDecided: (status: number) => boolean,
): Promise<DecisionRecord> {
  for (;;) {
    rec.attempts++;
    try {
      const res = await attempt();
      rec.outcomes.push(String(res.status));
      await res.body?.cancel();
      if (res.ok) {
        rec.landedAt = Date.now();
        return rec;
      }
      if (alreadyDecided(res.status)) {
        // After a retry this is the earlier attempt having landed; on the first try somebody else decided.
        if (rec.attempts === 1) rec.conflict = `first attempt answered ${res.status}`;
        rec.landedAt = Date.now();
        return rec;
      }
      if (res.status < 500 && res.status !== 429) {
        rec.gaveUp = `HTTP ${res.status}`;
        return rec;
      }
    } catch (err) {
      rec.outcomes.push(errorCode(err));
    }
    if (Date.now() > t.deadline()) {
      rec.gaveUp = 'retry deadline passed';
      return rec;
    }
    await sleep(retryDelay(rec.attempts));
  }
}

function callApiUntilTaken(t: DecisionTargets, rec: DecisionRecord): Promise<DecisionRecord> {
  const body = JSON.stringify({
    decision: rec.decision,
    actor: 'chaos-api@example.com',
    comment: rec.decision === 'reject' ? 'chaos: rejected through the API' : 'chaos: approved through the API',
  });
  return untilTaken(
    t,
    rec,
    () =>
      fetch(`${t.baseUrl}/api/checkpoints/${encodeURIComponent(rec.checkpointId)}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${t.apiToken}`, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      }),
    (status) => status === 409,
  );
}

/** A click is acknowledged at once and decided after; a person whose click errored clicks again (a new trigger). */
function clickUntilTaken(
  t: DecisionTargets,
  rec: DecisionRecord,
  card: { channel: string; ts: string },
): Promise<DecisionRecord> {
  return untilTaken(
    t,
    rec,
    () => {
      const payload = blockActions({
        user: t.slackApprover,
        actionId: rec.decision === 'approve' ? 'countersign.approve' : 'countersign.reject',
        value: rec.checkpointId,
        channel: card.channel,
        messageTs: card.ts,
      });
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      return fetch(`${t.baseUrl}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...slackHeaders(t.slackSigningSecret, body) },
        body,
        signal: AbortSignal.timeout(3_000),
      });
    },
    () => false,
  );
}

/** The approval page's form, untouched: the decision and the values as proposed. */
function submitUntilTaken(t: DecisionTargets, rec: DecisionRecord, link: string): Promise<DecisionRecord> {
  return untilTaken(
    t,
    rec,
    () => {
      const values = t.valuesOf(rec.checkpointId) ?? {};
      const fields: Record<string, string> = { decision: rec.decision };
      for (const [k, v] of Object.entries(values)) if (typeof v === 'string') fields[`edit.${k}`] = v;
      if (rec.decision === 'reject') fields.comment = 'chaos: rejected through the approval link';
      return fetch(link, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    },
    // 410: this link was used; 409: the checkpoint is decided (an earlier attempt decided it but its answer was lost).
    (status) => status === 410 || status === 409,
  );
}
