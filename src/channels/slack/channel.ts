import type { Logger } from 'pino';
import { z } from 'zod';
import { checkpointCard, minimalCard } from '../../../templates/slack/checkpoint-card.js';
import { escalationText, reminderText } from '../../../templates/slack/notices.js';
import type { Failpoints } from '../../engine/failpoints.js';
import type { Identities } from '../../identity.js';
import { appendAudit } from '../../store/audit.js';
import type { CheckpointDoc, Store } from '../../store/models.js';
import type { SlackCollections, SlackMessageDoc } from './collections.js';
import type { Outbox } from './outbox.js';

/**
 * The outbound Slack channel: posts a card per checkpoint to the approvals channel, named channels and DMs to
 * named approvers, remembers where (channel, ts), and brings every copy in line after progress, reminders,
 * escalation and the decision, whichever channel it came from. Slack errors are recorded on the checkpoint's
 * audit (visible with the run), never swallowed.
 */

const posted = z.object({ ts: z.string(), channel: z.string() });
const opened = z.object({ channel: z.object({ id: z.string() }) });
const anything = z.unknown();
const permalink = z.object({ permalink: z.string() });

/** The `event_type` of the metadata every card carries, so a retried post can find the one already made. */
const CARD_EVENT_TYPE = 'countersign_checkpoint';
const cardMetadata = z.object({
  event_type: z.literal(CARD_EVENT_TYPE),
  event_payload: z.object({ checkpoint_id: z.string(), copy_id: z.string() }).loose(),
});
/** One page of conversations.history: newest first; metadata only because include_all_metadata is asked for. */
const historyPage = z.object({
  messages: z.array(z.object({ ts: z.string(), metadata: z.unknown().optional() }).loose()),
  has_more: z.boolean().optional(),
  response_metadata: z.object({ next_cursor: z.string().optional() }).loose().optional(),
});
/**
 * How far the history search for an earlier post reaches: from a little before the copy's record was made
 * (our clock and Slack's may disagree) over a bounded number of pages, so a busy channel costs a few Tier 3 calls.
 */
const HISTORY_MARGIN_MS = 10 * 60_000;
const HISTORY_PAGE_SIZE = 200;
const HISTORY_MAX_PAGES = 5;

/** Errors where Slack refused the card's content; a smaller card may still get through. */
const CONTENT_ERRORS = new Set(['invalid_blocks', 'msg_too_long', 'invalid_blocks_format', 'too_many_blocks']);

export interface SlackChannelDeps {
  outbox: Outbox;
  db: SlackCollections;
  store: Store;
  identities: Identities;
  logger: Logger;
  approvalsChannel: string | undefined;
  runUrl(runId: string): string;
  now(): Date;
  /** Crash points for tests; `after-slack-post:<kind>` sits between Slack's answer and recording its ts. */
  failpoints?: Failpoints;
}

export function createSlackChannel(d: SlackChannelDeps) {
  const ctx = (cp: CheckpointDoc) => ({ runUrl: d.runUrl(cp.runId) });

  async function report(cp: CheckpointDoc, method: string, channel: string | undefined, error: string) {
    const at = d.now();
    const detail = `${method}${channel ? ` in ${channel}` : ''}: ${error}`;
    d.logger.warn({ runId: cp.runId, checkpointId: cp._id, method, channel, error }, 'slack refused a message');
    await appendAudit(d.store, cp, { at, actor: 'slack', channel: 'slack', outcome: 'slack_error', detail });
    await d.db.errors.create({ checkpointId: cp._id, runId: cp.runId, method, channel, error, at });
  }

  /** Transient failures throw so the notify job is retried; permanent ones are reported and the job goes on. */
  function fail(res: { error: string; retryable: boolean }, what: string): never {
    throw new Error(`slack ${what} failed: ${res.error}`);
  }

  async function sendCard(
    cp: CheckpointDoc,
    method: 'chat.postMessage' | 'chat.update',
    args: Record<string, unknown>,
  ) {
    const channel = String(args.channel);
    const full = await d.outbox.call(method, { ...args, ...checkpointCard(cp, ctx(cp)) }, posted, channel);
    if (full.ok) return full.value;
    if (full.retryable) fail(full, method);
    await report(cp, method, channel, full.error);
    if (!CONTENT_ERRORS.has(full.error)) return undefined;
    const small = await d.outbox.call(method, { ...args, ...minimalCard(cp, ctx(cp)) }, posted, channel);
    if (small.ok) return small.value;
    if (small.retryable) fail(small, method);
    await report(cp, method, channel, `${small.error} (also for the shortened card)`);
    return undefined;
  }

  /**
   * Posts one copy of the card, exactly once per (checkpoint, channel) even when a worker dies between Slack's
   * answer and recording the ts: the post carries `copy_id` in its message metadata, and a retry that finds the
   * copy's record without a ts first looks for that post in the channel's history and adopts it.
   */
  async function postCard(cp: CheckpointDoc, channel: string, kind: SlackMessageDoc['kind']) {
    const _id = `${cp._id}:${channel}`;
    const existing = await d.db.messages.findById(_id).lean();
    if (existing?.ts) return; // a retried job: this copy is already out
    if (existing) {
      const earlier = await findEarlierPost(cp, existing);
      if (earlier) {
        d.logger.info({ runId: cp.runId, checkpointId: cp._id, channel }, 'adopted a card posted before a crash');
        return recordPost(cp, _id, earlier);
      }
    } else {
      const now = d.now();
      await d.db.messages.updateOne(
        { _id },
        { $setOnInsert: { checkpointId: cp._id, channel, ts: '', kind, createdAt: now, updatedAt: now } },
        { upsert: true },
      );
    }
    const metadata = { event_type: CARD_EVENT_TYPE, event_payload: { checkpoint_id: cp._id, copy_id: _id } };
    const sent = await sendCard(cp, 'chat.postMessage', { channel, unfurl_links: false, metadata });
    if (!sent) return;
    d.failpoints?.hit(`after-slack-post:${kind}`);
    await recordPost(cp, _id, sent);
  }

  async function recordPost(cp: CheckpointDoc, _id: string, sent: { channel: string; ts: string }) {
    await d.db.messages.updateOne({ _id }, { $set: { ts: sent.ts, channel: sent.channel, updatedAt: d.now() } });
    // A decision may have landed while this card was on its way; the copy just posted must not stay behind.
    const latest = await d.store.checkpoints.findById(cp._id).lean<CheckpointDoc>();
    if (latest && latest.version !== cp.version) await updateCopy(latest, { channel: sent.channel, ts: sent.ts });
  }

  /**
   * The card an earlier attempt posted for this copy, found by its metadata in the channel's history. Undefined
   * when there is none (the attempt died before Slack had it) or the history cannot be read (missing scope):
   * then posting again is the lesser harm than no card at all.
   */
  async function findEarlierPost(
    cp: CheckpointDoc,
    copy: SlackMessageDoc,
  ): Promise<{ channel: string; ts: string } | undefined> {
    const created = new Date(copy.createdAt).getTime();
    const oldest = Number.isFinite(created) ? ((created - HISTORY_MARGIN_MS) / 1000).toFixed(6) : undefined;
    let cursor: string | undefined;
    for (let page = 0; page < HISTORY_MAX_PAGES; page++) {
      const res = await d.outbox.call(
        'conversations.history',
        {
          channel: copy.channel,
          ...(oldest ? { oldest } : {}),
          limit: HISTORY_PAGE_SIZE,
          include_all_metadata: true,
          ...(cursor ? { cursor } : {}),
        },
        historyPage,
      );
      if (!res.ok) {
        if (res.retryable) fail(res, 'conversations.history');
        await report(cp, 'conversations.history', copy.channel, res.error);
        return undefined;
      }
      const mine = res.value.messages.find((m) => {
        const meta = cardMetadata.safeParse(m.metadata);
        return meta.success && meta.data.event_payload.copy_id === copy._id;
      });
      if (mine) return { channel: copy.channel, ts: mine.ts };
      cursor = res.value.response_metadata?.next_cursor;
      if (!res.value.has_more || !cursor) return undefined;
    }
    d.logger.warn({ checkpointId: cp._id, channel: copy.channel }, 'card not found in the history searched');
    return undefined;
  }

  async function updateCopy(cp: CheckpointDoc, m: { channel: string; ts: string }) {
    await sendCard(cp, 'chat.update', { channel: m.channel, ts: m.ts });
  }

  async function refresh(cp: CheckpointDoc) {
    const copies = await d.db.messages.find({ checkpointId: cp._id, ts: { $ne: '' } }).lean();
    // Copies live in different channels, each paced on its own, so they are brought in line side by side.
    await Promise.all(copies.map((m) => updateCopy(cp, m)));
  }

  async function openDm(cp: CheckpointDoc | undefined, user: string): Promise<string | undefined> {
    const res = await d.outbox.call('conversations.open', { users: user }, opened);
    if (res.ok) return res.value.channel.id;
    if (res.retryable) fail(res, 'conversations.open');
    if (cp) await report(cp, 'conversations.open', user, res.error);
    return undefined;
  }

  /** Slack ids of the people named by id or linked to a named email. */
  async function slackIdsOf(people: { emails?: string[]; slackUsers?: string[] } | undefined): Promise<string[]> {
    if (!people) return [];
    const ids = await d.identities.expand([...(people.emails ?? []), ...(people.slackUsers ?? [])]);
    return [...new Set(ids.filter((i) => !i.includes('@')).map((i) => i.toUpperCase()))];
  }

  async function say(cp: CheckpointDoc, channel: string, text: string, threadTs?: string) {
    const res = await d.outbox.call(
      'chat.postMessage',
      { channel, text, unfurl_links: false, ...(threadTs ? { thread_ts: threadTs } : {}) },
      anything,
      channel,
    );
    if (!res.ok && res.retryable) fail(res, 'chat.postMessage');
    if (!res.ok) await report(cp, 'chat.postMessage', channel, res.error);
  }

  async function linkTo(m: { channel: string; ts: string } | undefined): Promise<string | undefined> {
    if (!m) return undefined;
    const res = await d.outbox.call('chat.getPermalink', { channel: m.channel, message_ts: m.ts }, permalink);
    return res.ok ? res.value.permalink : undefined;
  }

  return {
    name: 'slack',
    async onCreated(cp: CheckpointDoc) {
      const channels = new Set([
        ...(d.approvalsChannel ? [d.approvalsChannel] : []),
        ...(cp.approvers.slackChannels ?? []),
      ]);
      for (const channel of channels) await postCard(cp, channel, 'channel');
      for (const user of cp.approvers.slackUsers) {
        const dm = await openDm(cp, user);
        if (dm) await postCard(cp, dm, 'dm');
      }
    },
    async onDecided(cp: CheckpointDoc) {
      await refresh(cp);
    },
    async onProgress(cp: CheckpointDoc) {
      await refresh(cp);
    },
    async onReminder(cp: CheckpointDoc, n: number) {
      const copies = await d.db.messages.find({ checkpointId: cp._id, ts: { $ne: '' } }).lean();
      for (const m of copies.filter((c) => c.kind === 'channel')) await say(cp, m.channel, reminderText(cp, n), m.ts);
      const link = await linkTo(copies[0]);
      const done = new Set((cp.approvals ?? []).flatMap((a) => [a.actor, ...a.aliases].map((x) => x.toUpperCase())));
      for (const user of await slackIdsOf(cp.approvers)) {
        if (done.has(user)) continue; // who already approved toward the quorum is not nagged
        const dm = await openDm(cp, user);
        if (dm) await say(cp, dm, reminderText(cp, n, link));
      }
      await refresh(cp);
    },
    async onEscalated(cp: CheckpointDoc) {
      const to = cp.timers?.escalateTo;
      const copies = await d.db.messages.find({ checkpointId: cp._id, ts: { $ne: '' } }).lean();
      const link = await linkTo(copies[0]);
      const text = escalationText(cp, d.runUrl(cp.runId), link);
      // Escalation targets get the card itself, buttons included, and a line saying why it reached them.
      for (const channel of to?.slackChannels ?? []) {
        await postCard(cp, channel, 'channel');
        await say(cp, channel, text);
      }
      for (const user of await slackIdsOf(to)) {
        const dm = await openDm(cp, user);
        if (!dm) continue;
        await postCard(cp, dm, 'dm');
        await say(cp, dm, text);
      }
      const targets = [
        ...(to?.slackUsers ?? []).map((u) => `<@${u}>`),
        ...(to?.slackChannels ?? []).map((c) => `<#${c}>`),
      ];
      const note = escalationText(cp, d.runUrl(cp.runId), undefined, targets.join(', ') || 'the escalation contacts');
      for (const m of copies.filter((c) => c.kind === 'channel')) await say(cp, m.channel, note, m.ts);
      await refresh(cp);
    },
  };
}
