import { z } from 'zod';
import { threadRefSchema } from '../../src/channels/email/threading.js';

export const DISPUTE_REASONS = [
  'fraudulent',
  'duplicate',
  'not_received',
  'not_as_described',
  'subscription_canceled',
  'unrecognized',
  'other',
] as const;
export type DisputeReason = (typeof DISPUTE_REASONS)[number];

/**
 * Words customers and forms use for each reason. A dispute is never refused for its label: the reason is the
 * customer's own guess, the language analyst reads the description anyway, and turning a customer away at the
 * door because they wrote "double charged" instead of "duplicate" would lose the case. Unknown labels become
 * `other`, so the workflow treats them as needing a closer look, never as a known category.
 */
const REASON_SYNONYMS: Record<string, DisputeReason> = {
  fraud: 'fraudulent',
  unauthorized: 'fraudulent',
  unauthorised: 'fraudulent',
  stolen_card: 'fraudulent',
  double_charge: 'duplicate',
  double_charged: 'duplicate',
  charged_twice: 'duplicate',
  duplicate_charge: 'duplicate',
  not_delivered: 'not_received',
  never_received: 'not_received',
  product_not_received: 'not_received',
  item_not_received: 'not_received',
  defective: 'not_as_described',
  product_unacceptable: 'not_as_described',
  not_as_advertised: 'not_as_described',
  subscription_cancelled: 'subscription_canceled',
  canceled: 'subscription_canceled',
  cancelled: 'subscription_canceled',
  cancelled_subscription: 'subscription_canceled',
  canceled_subscription: 'subscription_canceled',
  unrecognised: 'unrecognized',
  unknown_charge: 'unrecognized',
};

export function normaliseReason(raw: string): DisputeReason {
  const key = raw
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return (DISPUTE_REASONS as readonly string[]).includes(key)
    ? (key as DisputeReason)
    : (REASON_SYNONYMS[key] ?? 'other');
}

// "49", "49.5", "49.00", "1234.56": major units with at most two decimals. No thousands separators or currency
// signs: "1,234" is 1.234 in half of Europe, so guessing would risk refunding the wrong amount.
const DECIMAL = /^\d{1,9}(\.\d{1,2})?$/;

const amountSchema = z
  .union([z.number(), z.string().trim().regex(DECIMAL, 'a decimal amount in major units, like "49.00"')])
  .transform((v) => (typeof v === 'number' ? v : Number(v)))
  .pipe(
    z
      .number()
      .positive('must be greater than 0')
      .max(1_000_000_000, 'is implausibly large')
      .refine((n) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6, 'has more than two decimals'),
  )
  .transform((n) => Math.round(n * 100) / 100);

const attachmentSchema = z.object({
  filename: z.string().min(1).max(255),
  contentType: z.string().min(1).max(255),
  sha256: z.string().regex(/^[a-f0-9]{64}$/i, 'a hex SHA-256 digest'),
  size: z.int().nonnegative(),
  /** Extracted text, when the file is text or was converted; fenced as untrusted like the description. */
  text: z.string().max(100_000).optional(),
});

const authValue = z.string().max(20).nullable();
const originSchema = z.object({
  channel: z.enum(['email', 'slack', 'web']),
  from: z.string().max(320),
  authentication: z
    .object({
      authservId: z.string().max(255).nullable(),
      spf: authValue,
      dkim: authValue,
      dmarc: authValue,
      /** Only `pass` lets the autonomy policy decide without a person. */
      verdict: z.enum(['pass', 'fail', 'none']),
      ignored: z.int().nonnegative(),
    })
    .optional(),
});
export type DisputeOrigin = z.infer<typeof originSchema>;

/**
 * The input of the `card-dispute` workflow (CONTRACT.md). Parsing is idempotent: a parsed dispute parses to itself,
 * so agents that take it as input can validate it again.
 */
export const disputeInputSchema = z.object({
  customerEmail: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.email('an email address'))
    .describe('Where we answer: the address the customer used with us.'),
  customerName: z.string().trim().min(1).max(200).optional().describe('As the customer signs; used to greet them.'),
  chargeId: z
    .string()
    .trim()
    .regex(/^(ch|py)_[A-Za-z0-9]{1,64}$/, 'a charge id like "ch_1001"')
    .describe('The charge being disputed, as on the statement or receipt (like ch_1001).'),
  amount: amountSchema.describe('The disputed amount in major units, like 49.00.'),
  currency: z
    .string()
    .trim()
    .regex(/^[a-zA-Z]{3}$/, 'a three-letter ISO 4217 code like "EUR"')
    .transform((c) => c.toUpperCase())
    .describe('Three-letter currency code, like EUR or USD.'),
  reason: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .transform(normaliseReason)
    .describe('In a word or two: fraudulent, duplicate, not received, not as described, subscription canceled…'),
  description: z
    .string()
    .trim()
    .min(1)
    .max(5_000)
    .describe("What happened, in the customer's words. Read by the agents as untrusted text."),
  attachments: z.array(attachmentSchema).max(20).optional(),
  /** Set when the dispute came by email: the outcome is answered in the customer's thread. */
  thread: threadRefSchema.optional(),
  /** Where the dispute came from and what our receiving server verified about the sender (shown to approvers). */
  origin: originSchema.optional(),
});
export type DisputeInput = z.output<typeof disputeInputSchema>;
/** What a handler may send: amounts as strings, free-text reasons, mixed-case codes. */
export type DisputeInputDraft = z.input<typeof disputeInputSchema>;
