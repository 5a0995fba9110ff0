/**
 * Larkspur's written refund policy, as the `get_refund_policy` tool returns it: the text a person would read, and
 * the same rules as numbers so the offline model (and a real one) can apply them without parsing prose.
 * Each rule has an id that agents cite in their findings, so an approver can look up what was applied.
 */
export const REFUND_POLICY = {
  version: '2026-09',
  rules: [
    { id: 'R1', text: 'Any order may be refunded in full within 30 days of delivery, for any reason.' },
    {
      id: 'R2',
      text: 'A defect (damaged, broken, wrong item) reported 31 to 90 days after delivery may be refunded up to 50% of the order.',
    },
    { id: 'R3', text: 'After 30 days, a change of mind is not refunded.' },
    {
      id: 'R4',
      text: 'Nothing after 90 days from delivery, and never more than what is left unrefunded on the order.',
    },
    {
      id: 'R5',
      text: 'A customer with 2 or more refunds or credits in the last 365 days gets no further refund unless the item is defective.',
    },
    {
      id: 'R6',
      text: 'Without an order, a goodwill credit of up to 20 in the account currency may be given once a year.',
    },
    { id: 'R7', text: "Refunds are paid in the order's currency only." },
  ],
  numbers: {
    fullRefundDays: 30,
    defectDays: 90,
    defectShare: 0.5,
    maxAdjustmentsPer365Days: 2,
    goodwillWithoutOrder: 20,
  },
  replies: 'Write to the customer by name, state the amount and currency, never quote internal rules or scores.',
} as const;

export type RefundPolicy = typeof REFUND_POLICY;
