import { z } from 'zod';
import { threadRefSchema } from './threading.js';

/**
 * The input a workflow started by email receives (the route names the workflow). Bodies stay in MongoDB (run
 * input and `email_messages`), never in Redis job data.
 */
export const inboundEmailSchema = z.object({
  /** The claim key of the message in `email_messages`. */
  messageKey: z.string().min(1).max(300),
  threadKey: z.string().min(1).max(998),
  from: z.object({ address: z.email(), name: z.string().max(200) }),
  subject: z.string().max(998),
  text: z.string().max(20_000),
  attachments: z
    .array(
      z.object({
        filename: z.string().min(1).max(255),
        contentType: z.string().min(1).max(255),
        sha256: z.string().regex(/^[a-f0-9]{64}$/),
        size: z.int().nonnegative(),
        text: z.string().max(20_000).optional(),
      }),
    )
    .max(20),
  /** Where our replies go: In-Reply-To this message, References its chain. */
  thread: threadRefSchema,
  authentication: z.object({
    authservId: z.string().nullable(),
    spf: z.string().nullable(),
    dkim: z.string().nullable(),
    dmarc: z.string().nullable(),
    verdict: z.enum(['pass', 'fail', 'none']),
    ignored: z.int().nonnegative(),
  }),
});
export type InboundEmail = z.infer<typeof inboundEmailSchema>;

/** A customer's later message in the same thread, as the waiting workflow reads it. */
export const followUpSchema = inboundEmailSchema.pick({
  messageKey: true,
  text: true,
  attachments: true,
  thread: true,
});
export type FollowUp = z.infer<typeof followUpSchema>;

/** The event a customer's reply sends to the run that waits for it; the key is the thread key. */
export const EMAIL_REPLY_EVENT = 'email-reply';
