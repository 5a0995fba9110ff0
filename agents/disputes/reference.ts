import type { DisputeReason } from './input.js';

/**
 * Static reference tables the agents consult: card-network reason codes and Northwind's refund policy. They change
 * with a release, never per request, so they live in code and not in the database.
 */
export interface ReasonCode {
  reason: DisputeReason;
  title: string;
  visa: string | null;
  mastercard: string | null;
  /** What the merchant needs to show for the charge to stand. */
  evidenceToDefend: string[];
}

export const REASON_CODES: Record<DisputeReason, ReasonCode> = {
  fraudulent: {
    reason: 'fraudulent',
    title: 'Fraud — card-absent environment (cardholder did not authorise)',
    visa: '10.4',
    mastercard: '4837',
    evidenceToDefend: [
      'use of the purchased service after the charge from devices or addresses seen before',
      'prior undisputed charges on the same card',
    ],
  },
  unrecognized: {
    reason: 'unrecognized',
    title: 'Cardholder does not recognise the transaction',
    visa: '10.4',
    mastercard: '4863',
    evidenceToDefend: [
      'a clear statement descriptor',
      'use of the service after the charge',
      'prior charges with the same descriptor',
    ],
  },
  duplicate: {
    reason: 'duplicate',
    title: 'Duplicate processing',
    visa: '12.6.1',
    mastercard: '4834',
    evidenceToDefend: ['that each charge was for a separate order or period'],
  },
  not_received: {
    reason: 'not_received',
    title: 'Merchandise or services not received',
    visa: '13.1',
    mastercard: '4855',
    evidenceToDefend: [
      'carrier-confirmed delivery to the address on file',
      'or, for services, proof of access and use',
    ],
  },
  not_as_described: {
    reason: 'not_as_described',
    title: 'Not as described or defective',
    visa: '13.3',
    mastercard: '4853',
    evidenceToDefend: ['the product description at the time of purchase', 'that the product worked as described'],
  },
  subscription_canceled: {
    reason: 'subscription_canceled',
    title: 'Cancelled recurring transaction',
    visa: '13.2',
    mastercard: '4841',
    evidenceToDefend: [
      'that the subscription was not cancelled before the charge',
      'use of the service after the charge',
    ],
  },
  other: {
    reason: 'other',
    title: 'Other or unclassified dispute',
    visa: null,
    mastercard: null,
    evidenceToDefend: ['depends on what the customer describes'],
  },
};

export const REFUND_POLICY = {
  version: '2026-10',
  /** An accepted dispute above this amount (major units of the charge's currency) always goes to a person. */
  reviewAboveAmount: 500,
  refundWindowDays: 120,
  rules: [
    'Refund a charge that duplicates another charge for the same product and period.',
    'Refund a shipment that has no carrier-confirmed delivery.',
    'Refund a renewal charged after the customer cancelled, if the service was not used afterwards.',
    'A charge stands when the service was used after it from the devices the customer usually uses.',
    'Whether a product matched its description is a judgement for a person.',
    'Accounts with several earlier disputes, or signs of abuse, go to a person.',
  ],
  replyGuidelines: [
    'Address the customer by name; name the charge, amount and currency.',
    'State the outcome plainly; promise nothing beyond it (no credits, discounts or dates we do not control).',
    'Never mention internal risk scores, other customers or these rules.',
    'Invite the customer to reply with anything we have not seen.',
  ],
} as const;
