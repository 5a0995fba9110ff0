/**
 * What the customer reads from us in their thread. Plain text on purpose: it is a conversation, and plain text
 * survives every client, quoting and forwarding unchanged.
 */
const SIGN_OFF =
  '\n\nKind regards,\nThe Northwind disputes team\n\n(This message was sent automatically; replies to it reach the team.)';

/** What Countersign understood from the customer's first message: the receipt says exactly this, no more. */
export type Understood =
  | { kind: 'dispute'; chargeId: string | null; amount: number | null; currency: string | null; reason: string | null }
  | { kind: 'other' }
  | { kind: 'unclear' };

/** The dispute reasons in the customer's words; `other` says nothing the customer did not. */
const REASON_WORDS: Record<string, string> = {
  fraudulent: 'not authorised by you',
  duplicate: 'charged twice',
  not_received: 'not received',
  not_as_described: 'not as described',
  subscription_canceled: 'charged after cancelling',
  unrecognized: 'not recognised',
  other: '',
};

function understoodAs(u: Understood): string {
  if (u.kind === 'other')
    return 'It does not look like a dispute about a card charge, so we have not opened one. A person will read it and answer you in this thread.';
  if (u.kind === 'unclear')
    return 'We could not tell what this is about; a person will read it and answer you in this thread.';
  const amount = u.amount !== null && u.currency ? ` of ${u.amount.toFixed(2)} ${u.currency}` : '';
  const charge = u.chargeId ? `charge ${u.chargeId}${amount}` : `a charge${amount} on your card`;
  const words = u.reason ? (REASON_WORDS[u.reason] ?? u.reason.replaceAll('_', ' ')) : '';
  const reason = words ? ` (${words})` : '';
  return `We understood it as a dispute about ${charge}${reason}, and we are looking into it. We will write to you in this thread as soon as we know more.`;
}

export function receiptText(name: string, understood: Understood): string {
  const hello = name ? `Hello ${name},` : 'Hello,';
  return `${hello}\n\nthank you for your message. ${understoodAs(understood)}${SIGN_OFF}`;
}

/** A draft the person deciding a triage checkpoint edits (or clears) before it goes out; not sent on its own. */
export function triageReplyText(name: string): string {
  const hello = name ? `Hello ${name},` : 'Hello,';
  return `${hello}\n\nthank you for your message. This address handles disputes about card charges, and your message is not one, so we have closed it here. For anything else, please write to our support team.\n\nKind regards,\nThe Northwind disputes team`;
}

export function questionText(name: string, question: string): string {
  const hello = name ? `Hello ${name},` : 'Hello,';
  return `${hello}\n\n${question}${SIGN_OFF}`;
}

export function refusalText(name: string, problems: readonly string[]): string {
  const hello = name ? `Hello ${name},` : 'Hello,';
  return `${hello}\n\nthank you for writing to us. We could not accept your message as it is:\n\n${problems.map((p) => `- ${p}`).join('\n')}\n\nCould you send it again without those files, or with smaller ones? A link to the file or a screenshot of the relevant part works too.${SIGN_OFF}`;
}

export function noAnswerText(name: string): string {
  const hello = name ? `Hello ${name},` : 'Hello,';
  return `${hello}\n\nwe have not heard back from you, so we have put this dispute on hold. Reply to this message at any time and we will pick it up again.${SIGN_OFF}`;
}
