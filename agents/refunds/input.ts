import { z } from 'zod';

// "49", "49.5", "1450.00": major units, at most two decimals, no separators or signs. "1,450" means 1.45 in half
// of Europe; a refund is money leaving the company, so an ambiguous amount is refused rather than guessed.
const DECIMAL = /^\d{1,9}(\.\d{1,2})?$/;

const amountSchema = z
  .union([
    z.number('Give the amount as a number, like 49.90'),
    z.string().trim().regex(DECIMAL, 'Write the amount in major units with a dot, like "49.90" (no commas or signs)'),
  ])
  .transform((v) => (typeof v === 'number' ? v : Number(v)))
  .pipe(
    z
      .number()
      .positive('The refund must be more than zero')
      .max(1_000_000, 'A refund above 1,000,000 is not something this form can ask for')
      .refine((n) => Math.abs(Math.round(n * 100) - n * 100) < 1e-6, 'Use at most two decimals (cents)'),
  )
  .transform((n) => Math.round(n * 100) / 100);

/**
 * The input of the `refund-request` workflow (CONTRACT.md). Parsing is idempotent (a parsed request parses to
 * itself), so agents that receive it validate it again without surprises.
 */
export const refundInputSchema = z
  .object({
    customerEmail: z
      .string('Give the customer email address')
      .trim()
      .toLowerCase()
      .pipe(z.email('That is not an email address: give the one the customer orders with'))
      .meta({ title: 'Customer email', description: 'The address the customer orders with; the answer goes there.' }),
    amount: amountSchema.meta({
      title: 'Amount',
      description: 'What to refund or credit, in major units of the currency (e.g. 49.90).',
    }),
    currency: z
      .string('Give the currency')
      .trim()
      .regex(/^[a-zA-Z]{3}$/, 'Use a three-letter ISO 4217 code like EUR, USD or GBP')
      .transform((c) => c.toUpperCase())
      .meta({ title: 'Currency', description: 'ISO 4217 code of the order, e.g. EUR.' }),
    reason: z
      .string('Say why the customer should get the money back')
      .trim()
      .min(3, 'Say in a few words why the customer should get the money back')
      .max(2_000, 'Keep the reason under 2,000 characters; attach the conversation in the ticket instead')
      .meta({ title: 'Reason', description: "Why, in the customer's or your words (e.g. arrived damaged)." }),
    requestedBy: z
      .string('Say who asks: your email address or Slack user id')
      .trim()
      .min(2, 'Say who asks: your email address or Slack user id')
      .max(320, 'That is too long for an email address or a Slack user id')
      .meta({
        title: 'Requested by',
        description: 'The support agent asking: an email address or a Slack user id (told the outcome).',
      }),
    orderId: z
      .string()
      .trim()
      .regex(/^ord_[A-Za-z0-9]{1,40}$/, 'Order ids look like "ord_5101"')
      .optional()
      .meta({ title: 'Order', description: 'The order to refund; leave empty for a goodwill credit.' }),
  })
  .meta({ title: 'Refund request', description: 'Ask to refund or credit a customer outside the standard policy.' });

export type RefundInput = z.output<typeof refundInputSchema>;
/** What a caller may send: amounts as strings, mixed-case currency codes. */
export type RefundInputDraft = z.input<typeof refundInputSchema>;

/** Who asked, as a channel can reach them. */
export function requesterAddress(requestedBy: string): { email: string } | { slackUser: string } | null {
  if (/^[UW][A-Z0-9]{2,}$/.test(requestedBy)) return { slackUser: requestedBy };
  const email = z.email().safeParse(requestedBy.toLowerCase());
  return email.success ? { email: email.data } : null;
}
