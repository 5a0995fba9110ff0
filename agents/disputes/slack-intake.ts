import { z } from 'zod';
import type { SlackHandlerDeps } from '../../src/channels/slack/deps.js';
import {
  postInThreadOnce,
  SLACK_REPLY_EVENT,
  slackIntakeModels,
  threadKeyOf,
  threadMessagesAfter,
} from '../../src/channels/slack/intake-threads.js';
import type { Failpoints } from '../../src/engine/failpoints.js';
import type { Engine } from '../../src/engine/types.js';
import type { WorkflowContext } from '../../src/engine/workflow.js';
import { defineWorkflow } from '../../src/engine/workflow.js';
import {
  completeDispute,
  EMPTY_INTAKE_FIELDS,
  type IntakeAgent,
  type IntakeFields,
  mergeIntakeFields,
  questionFor,
} from './intake-agent.js';
import { CARD_DISPUTE } from './workflow.js';

export const SLACK_INTAKE = 'slack-intake';
/** Questions before we stop asking; each needs a person's answer, so this also bounds what we post. */
const MAX_QUESTIONS = 3;
const ANSWER_WAIT_MS = 7 * 24 * 3_600_000;

/** The mention that opened the conversation, in plain words (Slack markup already removed by the handler). */
const slackMentionSchema = z.object({
  channel: z.string().min(1).max(40),
  threadTs: z.string().min(1).max(40),
  ts: z.string().min(1).max(40),
  user: z.string().min(1).max(40),
  text: z.string().max(20_000),
});
export type SlackMention = z.infer<typeof slackMentionSchema>;

/** What the run needs from Slack; read lazily because the Slack integration is built after the engine. */
export type SlackIntakePorts = Pick<SlackHandlerDeps, 'outbox' | 'store' | 'runUrl' | 'approvalsChannel'>;

export interface SlackIntakeDeps {
  intakeAgent: IntakeAgent;
  engine(): Engine;
  slack(): SlackIntakePorts | undefined;
  /** Crash points for the crash-recovery tests (`after-slack-post:<kind>`); none in production. */
  failpoints?: Failpoints;
}

export interface SlackIntakeOutput {
  status: 'started' | 'incomplete' | 'no-answer';
  disputeRunId: string | null;
  missing: string[];
}

/**
 * A dispute told to the bot in a Slack thread, durable like email intake: the intake agent reads each message,
 * what is missing is asked in the thread (each post a journaled step with its own effect key, so a retried step
 * never posts twice), the run waits for the next message in the thread, and `card-dispute` starts once.
 */
export function createSlackIntakeWorkflow(deps: SlackIntakeDeps) {
  const ports = (): SlackIntakePorts => {
    const slack = deps.slack();
    // Without Slack configured no mention can have started this run; if one did, retrying will not help.
    if (!slack) throw new Error('Slack is not configured (SLACK_BOT_TOKEN) in this process');
    return slack;
  };
  return defineWorkflow<SlackMention, SlackIntakeOutput>({
    name: SLACK_INTAKE,
    input: slackMentionSchema,
    async run(ctx, m) {
      const key = threadKeyOf(m.channel, m.threadTs);
      const say = (id: string, kind: string, text: () => string) =>
        ctx.step(id, ({ idempotencyKey }) =>
          postInThreadOnce(
            { ...ports(), ...(deps.failpoints ? { failpoints: deps.failpoints } : {}) },
            {
              channel: m.channel,
              threadTs: m.threadTs,
              text: text(),
              effectKey: idempotencyKey,
              kind,
            },
          ),
        );
      let known: IntakeFields = EMPTY_INTAKE_FIELDS;
      let text = m.text;
      let lastTs = m.ts;
      for (let round = 0; ; round++) {
        const result = await ctx.agent(
          deps.intakeAgent,
          // The writer is staff reporting for a customer, so their own address is not the customer's: sender stays empty.
          { source: 'slack', text, subject: null, sender: { email: null, name: null }, known, attachments: [] },
          { id: `intake-${round}` },
        );
        known = mergeIntakeFields(known, result.fields);
        const done = completeDispute(known);
        if (done.ok) {
          const disputeRunId = await ctx.step('start-dispute', async () => {
            const started = await deps.engine().startRun({
              workflow: CARD_DISPUTE,
              input: done.input,
              idempotencyKey: `slack-thread:${key}`,
              source: { channel: 'slack', key },
            });
            await setStage(ports(), { ...m, runId: ctx.runId }, { stage: 'case', disputeRunId: started.runId });
            return started.runId;
          });
          await say('say-started', 'slack-intake-started', () => {
            const { runUrl, approvalsChannel } = ports();
            const where = approvalsChannel ? ` The checkpoint will appear in <#${approvalsChannel}>.` : '';
            return `Thanks <@${m.user}>, I started the dispute: <${runUrl(disputeRunId)}|run ${disputeRunId}>.${where}`;
          });
          return { status: 'started', disputeRunId, missing: [] };
        }
        if (round >= MAX_QUESTIONS) {
          await say(
            'say-incomplete',
            'slack-intake-incomplete',
            () =>
              `I still could not gather everything this dispute needs (${done.missing.join(', ')}). You can start it with \`/countersign dispute\`.`,
          );
          await ctx.step('close-incomplete', () => setStage(ports(), { ...m, runId: ctx.runId }, { stage: 'closed' }));
          return { status: 'incomplete', disputeRunId: null, missing: done.missing };
        }
        await say(
          `ask-${round}`,
          'slack-intake-question',
          () => questionFor(done.missing, 'slack') ?? result.question ?? 'Could you tell me more about the charge?',
        );
        const replies = await nextReplies(ctx, ports, key, lastTs, round);
        if (replies === null) {
          await say(
            'say-no-answer',
            'slack-intake-no-answer',
            () =>
              'Nobody answered here for a week, so I stopped waiting. Mention me again in a new thread to start over.',
          );
          await ctx.step('close-no-answer', () => setStage(ports(), { ...m, runId: ctx.runId }, { stage: 'closed' }));
          return { status: 'no-answer', disputeRunId: null, missing: done.missing };
        }
        lastTs = replies.at(-1)?.ts ?? lastTs;
        text = replies.map((r) => r.text).join('\n\n');
      }
    },
  });
}

/**
 * Waits until the thread holds messages after `afterTs`. An event only says "something arrived": the stored
 * messages are the truth, so an event whose message an earlier read already took wakes us to nothing and we wait
 * again instead of running the agent on an empty text. Null when nobody answers in time.
 */
async function nextReplies(
  ctx: WorkflowContext,
  ports: () => SlackIntakePorts,
  key: string,
  afterTs: string,
  round: number,
): Promise<{ ts: string; text: string }[] | null> {
  for (let n = 0; ; n++) {
    const answered = await ctx.waitForEvent(`answer-${round}-${n}`, {
      name: SLACK_REPLY_EVENT,
      key,
      timeoutMs: ANSWER_WAIT_MS,
    });
    if (answered === null) return null;
    const replies = await ctx.step(`read-answer-${round}-${n}`, () =>
      threadMessagesAfter(slackIntakeModels(ports().store.connection), key, afterTs),
    );
    if (replies.length > 0) return replies;
  }
}

/**
 * Moves the thread on. Upserted: the handler marks the thread only after starting this run, so a fast run may get
 * here first; the handler's own write then only fills what is missing and cannot move the stage back.
 */
async function setStage(
  ports: SlackIntakePorts,
  m: SlackMention & { runId: string },
  set: { stage: 'case'; disputeRunId: string } | { stage: 'closed' },
): Promise<null> {
  const now = new Date();
  await slackIntakeModels(ports.store.connection).threads.updateOne(
    { _id: threadKeyOf(m.channel, m.threadTs) },
    {
      $set: { ...set, updatedAt: now },
      $setOnInsert: { channel: m.channel, threadTs: m.threadTs, intakeRunId: m.runId, createdAt: now },
    },
    { upsert: true },
  );
  return null;
}
