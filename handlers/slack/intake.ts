import { z } from 'zod';
import { SLACK_INTAKE } from '../../agents/disputes/slack-intake.js';
import type { SlackHandlerDeps, SlackJob } from '../../src/channels/slack/deps.js';
import {
  recordThreadMessage,
  SLACK_REPLY_EVENT,
  type SlackIntakeModels,
  type SlackIntakeThreadDoc,
  slackIntakeModels,
  threadKeyOf,
} from '../../src/channels/slack/intake-threads.js';
import { isDuplicateKey } from '../../src/store/models.js';
import { plainSlackText } from './slack-text.js';

type MentionJob = Extract<SlackJob, { kind: 'mention' }>;

/**
 * A dispute in plain words, in a thread. This job only routes: a mention opens the thread's `slack-intake` run
 * (once per thread), a later message in that thread is written down and then announced to the waiting run. The
 * run itself (agents/disputes/slack-intake.ts) reads, asks and starts the dispute, durably.
 *
 * Slack delivers a mention in a thread twice, as `app_mention` and as `message`, with different event ids and in
 * no promised order. Relevance is therefore decided before anything is claimed: only a delivery we would act on
 * claims `msg:<channel>:<ts>`, so an irrelevant `message` arriving first can never take the mention's place.
 */
export async function handleMentionJob(d: SlackHandlerDeps, job: MentionJob) {
  if (d.intakeChannels.length > 0 && !d.intakeChannels.includes(job.channel)) return;
  const models = slackIntakeModels(d.store.connection);
  const threadTs = job.threadTs ?? job.ts;
  const key = threadKeyOf(job.channel, threadTs);
  const thread = await models.threads.findById(key).lean();
  // A plain message matters only inside a thread whose run is waiting for input; everything else is talk.
  if (!job.mention && thread?.stage !== 'intake') return;
  const claimKey = `msg:${job.channel}:${job.ts}`;
  try {
    await d.db.events.create({ _id: claimKey, type: 'intake', at: d.now() });
  } catch (err) {
    if (isDuplicateKey(err)) return d.logger.debug({ claimKey }, 'slack message already handled');
    throw err;
  }
  try {
    await act(d, models, job, key, threadTs, thread);
  } catch (err) {
    // The queue retries this job: give the claim back so the retry is not mistaken for a second delivery.
    await d.db.events.deleteOne({ _id: claimKey });
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
    return say(`This thread already started a dispute: <${d.runUrl(runId)}|run ${runId}>.`);
  }
  if (thread?.stage === 'closed') {
    return say('This conversation has ended. Mention me in a new thread, or use `/countersign dispute`.');
  }
  if (thread?.stage === 'intake') return answer(d, models, job, key, threadTs, text);
  // The run starts before the thread is marked, so every reply that finds the thread finds a run that will read it.
  const started = await d.engine.startRun({
    workflow: SLACK_INTAKE,
    input: { channel: job.channel, threadTs, ts: job.ts, user: job.user, text },
    idempotencyKey: `slack-intake:${key}`,
    source: { channel: 'slack', key: `intake:${key}` },
  });
  const now = d.now();
  await models.threads.updateOne(
    { _id: key },
    {
      $setOnInsert: {
        channel: job.channel,
        threadTs,
        intakeRunId: started.runId,
        stage: 'intake',
        createdAt: now,
      },
      $set: { updatedAt: now },
    },
    { upsert: true },
  );
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
