import { z } from 'zod';
import { viewStateSchema } from '../../templates/slack/schema-form.js';

/**
 * The parts of Slack's payloads we read, parsed with zod before use (Bolt hands them over untyped at runtime).
 * Unknown fields are allowed: Slack adds fields over time and we must not refuse a click because of one.
 */

const user = z.object({ id: z.string() }).loose();

export const blockActionSchema = z
  .object({
    type: z.literal('block_actions'),
    user,
    trigger_id: z.string(),
    container: z
      .object({ type: z.string(), channel_id: z.string().optional(), message_ts: z.string().optional() })
      .loose()
      .optional(),
    channel: z.object({ id: z.string() }).loose().optional(),
    actions: z.array(z.object({ action_id: z.string(), value: z.string().max(2_000).optional() }).loose()).min(1),
  })
  .loose();
export type BlockAction = z.infer<typeof blockActionSchema>;

export const viewSubmissionSchema = z
  .object({
    type: z.literal('view_submission'),
    user,
    view: z
      .object({
        id: z.string(),
        callback_id: z.string(),
        private_metadata: z.string().default(''),
        state: viewStateSchema,
      })
      .loose(),
  })
  .loose();

export const viewClosedSchema = z
  .object({ type: z.literal('view_closed'), user, view: z.object({ id: z.string(), callback_id: z.string() }).loose() })
  .loose();

export const slashCommandSchema = z
  .object({
    command: z.string(),
    text: z.string().default(''),
    user_id: z.string(),
    channel_id: z.string(),
    trigger_id: z.string(),
  })
  .loose();

export const messageShortcutSchema = z
  .object({
    type: z.literal('message_action'),
    callback_id: z.string(),
    trigger_id: z.string(),
    user,
    channel: z.object({ id: z.string() }).loose(),
    message: z.object({ ts: z.string(), text: z.string().default('') }).loose(),
  })
  .loose();

export const appMentionSchema = z
  .object({
    type: z.literal('app_mention'),
    user: z.string().min(1),
    text: z.string(),
    ts: z.string().min(1),
    channel: z.string().min(1),
    thread_ts: z.string().min(1).optional(),
  })
  .loose();

/**
 * A person's message in a thread: a reply to the intake agent's question without mentioning the bot again. A reply
 * also sent to the channel (`thread_broadcast`) or carrying a file (`file_share`) is still a person's answer; edits,
 * deletions, joins and bot posts are not.
 */
export const threadMessageSchema = z
  .object({
    type: z.literal('message'),
    user: z.string().min(1),
    text: z.string(),
    ts: z.string().min(1),
    channel: z.string().min(1),
    thread_ts: z.string().min(1),
    subtype: z.enum(['thread_broadcast', 'file_share']).optional(),
    bot_id: z.undefined().optional(),
  })
  .loose();

export const appHomeOpenedSchema = z
  .object({ type: z.literal('app_home_opened'), user: z.string(), tab: z.string().optional() })
  .loose();

export const editMetadataSchema = z.object({ checkpointId: z.string().min(1), channel: z.string().optional() });
export const intakeMetadataSchema = z.object({
  workflow: z.string().min(1),
  channel: z.string().optional(),
  messageTs: z.string().optional(),
});

/** Private metadata is our own JSON, but it travels through Slack: parse it like any other input. */
export function parseMetadata<S extends z.ZodType>(schema: S, raw: string): z.output<S> | undefined {
  try {
    const parsed = schema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
