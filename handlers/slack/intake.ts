import { z } from 'zod';
import {
  completeDispute,
  EMPTY_INTAKE_FIELDS,
  type IntakeFields,
  intakeFieldsSchema,
  mergeIntakeFields,
  questionFor,
} from '../../agents/disputes/intake-agent.js';
import { CARD_DISPUTE } from '../../agents/disputes/workflow.js';
import type { SlackHandlerDeps, SlackJob } from '../../src/channels/slack/deps.js';
import { InvalidInput } from '../../src/errors.js';
import { isDuplicateKey } from '../../src/store/models.js';
import { plainSlackText } from './slack-text.js';

type MentionJob = Extract<SlackJob, { kind: 'mention' }>;

/**
 * A dispute in plain words, in a thread: the intake agent fills what it can, asks in the thread for what is
 * missing, and the run starts once the workflow's own schema accepts the input. The thread is the conversation
 * key, so the run starts once however many messages it took.
 */
export async function handleMentionJob(d: SlackHandlerDeps, job: MentionJob) {
  if (d.intakeChannels.length > 0 && !d.intakeChannels.includes(job.channel)) return;
  // A mention in a thread arrives as app_mention and as message (two event ids): handle the message once.
  try {
    await d.db.events.create({ _id: `msg:${job.channel}:${job.ts}`, type: 'intake', at: d.now() });
  } catch (err) {
    if (isDuplicateKey(err)) return;
    throw err;
  }
  const threadTs = job.threadTs ?? job.ts;
  const _id = `${job.channel}:${threadTs}`;
  const draft = await d.db.intakes.findById(_id).lean();
  if (!job.mention && !draft) return; // an ordinary thread reply, not a conversation with us
  const reply = (text: string) =>
    d.outbox.call('chat.postMessage', { channel: job.channel, thread_ts: threadTs, text }, z.unknown(), job.channel);
  if (draft?.runId) {
    if (job.mention)
      await reply(`This thread already started a dispute: <${d.runUrl(draft.runId)}|run ${draft.runId}>.`);
    return;
  }
  const known = draft ? intakeFieldsSchema.catch(EMPTY_INTAKE_FIELDS).parse(draft.fields) : EMPTY_INTAKE_FIELDS;
  const text = plainSlackText(job.text);
  let result: { fields: IntakeFields; question: string | null };
  try {
    const { output } = await d.runner.run(
      d.intakeAgent,
      // The writer is staff reporting for a customer, so their own address is not the customer's: sender stays empty.
      { source: 'slack', text, subject: null, sender: { email: null, name: null }, known, attachments: [] },
      { runId: `slack-intake-${job.channel}-${threadTs}`, stepId: `intake-${job.ts}` },
    );
    result = output;
  } catch (err) {
    d.logger.warn({ err: (err as Error).message, channel: job.channel }, 'intake agent failed');
    await reply('I could not read that just now. You can also start a dispute with `/countersign dispute`.');
    return;
  }
  const fields = mergeIntakeFields(known, result.fields);
  const now = d.now();
  await d.db.intakes.updateOne(
    { _id },
    { $set: { channel: job.channel, threadTs, user: job.user, fields, updatedAt: now } },
    { upsert: true },
  );
  const done = completeDispute(fields);
  if (!done.ok) {
    await reply(questionFor(done.missing, 'slack') ?? result.question ?? 'Could you tell me more about the charge?');
    return;
  }
  try {
    const { runId } = await d.engine.startRun({
      workflow: CARD_DISPUTE,
      input: done.input,
      idempotencyKey: `slack-thread:${_id}`,
      source: { channel: 'slack', key: _id },
    });
    await d.db.intakes.updateOne({ _id }, { $set: { runId, updatedAt: d.now() } });
    const where = d.approvalsChannel ? ` The checkpoint will appear in <#${d.approvalsChannel}>.` : '';
    await reply(`Thanks <@${job.user}>, I started the dispute: <${d.runUrl(runId)}|run ${runId}>.${where}`);
  } catch (err) {
    if (!(err instanceof InvalidInput)) throw err;
    await reply(`The dispute could not start: ${err.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
  }
}
