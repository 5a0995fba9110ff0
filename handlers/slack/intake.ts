import { z } from 'zod';
import { claimDelivery, releaseDelivery } from '../../src/channels/slack/collections.js';
import type { SlackHandlerDeps, SlackJob } from '../../src/channels/slack/deps.js';
import {
  findIntakeThread,
  openIntakeThread,
  recordThreadMessage,
  SLACK_REPLY_EVENT,
  type SlackIntakeModels,
  type SlackIntakeThreadDoc,
  slackIntakeModels,
  threadKeyOf,
} from '../../src/channels/slack/intake-threads.js';
import { plainSlackText } from './slack-text.js';

type MentionJob = Extract<SlackJob, { kind: 'mention' }>;

/**
 * A request in plain words, in a thread. This job only routes: a mention opens the thread's run of the module's
 * mention workflow (`intake.slackMention`, once per thread), a later message in that thread is written down and
 * then announced to the waiting run. The run itself reads, asks and starts the case, durably.
 *
 * Slack delivers a mention in a thread twice, as `app_mention` and as `message`, with different event ids and in
 * no promised order. Relevance is therefore decided before anything is claimed: only a delivery we would act on
 * claims `msg:<channel>:<ts>`, so an irrelevant `message` arriving first can never take the mention's place.
 */
export async function handleMentionJob(d: SlackHandlerDeps, job: MentionJob, jobId?: string) {
  const mention = d.intake.mention;
  // No module takes mentions: a mention is just talk.
  if (!mention) return;
  if (d.intakeChannels.length > 0 && !d.intakeChannels.includes(job.channel)) return;
  const models = slackIntakeModels(d.store.connection);
  const threadTs = job.threadTs ?? job.ts;
  const key = threadKeyOf(job.channel, threadTs);
  const thread = await findIntakeThread(models, key);
  // A plain message matters only inside a thread whose run is waiting for input; everything else is talk.
  if (!job.mention && thread?.stage !== 'intake') return;
  const claimKey = `msg:${job.channel}:${job.ts}`;
  // Owned by this job: should its worker die after the claim, the job's next attempt goes on (what it does is
  // idempotent: the run has an idempotency key, the thread's records unique ids) instead of taking it for a repeat.
  const claim = { _id: claimKey, type: 'intake', at: d.now(), ...(jobId ? { owner: jobId } : {}) };
  if (!(await claimDelivery(d.db, claim))) {
    return d.logger.debug({ claimKey }, 'slack message already handled');
  }
  try {
    await act(d, models, job, key, threadTs, thread, mention);
  } catch (err) {
    // The queue retries this job: give the claim back so the retry is not mistaken for a second delivery.
    await releaseDelivery(d.db, claimKey);
    throw err;
  }
}

async function act(
  d: SlackHandlerDeps,
  models: SlackIntakeModels,
  job: MentionJob,
  key: string,
  threadTs: string,
  thread: SlackIntakeThreadDoc | null,
  mention: { workflow: string; intakeWord?: string },
) {
  const text = plainSlackText(job.text);
  const say = async (msg: string) => {
    const res = await d.outbox.call(
      'chat.postMessage',
      { channel: job.channel, thread_ts: threadTs, text: msg },
      z.unknown(),
      job.channel,
    );
    if (!res.ok) d.logger.warn({ channel: job.channel, error: res.error }, 'could not answer in the thread');
  };
  if (thread?.stage === 'case') {
    const runId = thread.disputeRunId ?? '';
    return say(`This thread already started a run: <${d.runUrl(runId)}|run ${runId}>.`);
  }
  if (thread?.stage === 'closed') {
    const form = mention.intakeWord ? `, or use \`/countersign ${mention.intakeWord}\`` : '';
    return say(`This conversation has ended. Mention me in a new thread${form}.`);
  }
  // The mention that opened this thread, again: its first attempt got as far as opening it (then its worker died).
  if (thread?.stage === 'intake' && job.mention && job.ts === threadTs) return;
  if (thread?.stage === 'intake') return answer(d, models, job, key, threadTs, text);
  // The run starts before the thread is marked, so every reply that finds the thread finds a run that will read it.
  const started = await d.engine.startRun({
    workflow: mention.workflow,
    input: { channel: job.channel, threadTs, ts: job.ts, user: job.user, text },
    idempotencyKey: `slack-intake:${key}`,
    source: { channel: 'slack', key: `intake:${key}` },
  });
  await openIntakeThread(models, { key, channel: job.channel, threadTs, intakeRunId: started.runId }, d.now());
  // Two mentions raced to open the same thread: the one that did not start the run is its first answer.
  if (!started.created) await answer(d, models, job, key, threadTs, text);
}

/** Written down first, then announced: the run reads the thread's stored messages, not the event payload. */
async function answer(
  d: SlackHandlerDeps,
  models: SlackIntakeModels,
  job: MentionJob,
  key: string,
  threadTs: string,
  text: string,
) {
  await recordThreadMessage(models, { channel: job.channel, threadTs, ts: job.ts, user: job.user, text, at: d.now() });
  await d.engine.sendEvent({ name: SLACK_REPLY_EVENT, key, payload: { ts: job.ts } });
}
