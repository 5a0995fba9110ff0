/**
 * What the customer reads from us in their thread. Plain text on purpose: it is a conversation, and plain text
 * survives every client, quoting and forwarding unchanged.
 */
const SIGN_OFF =
  '\n\nKind regards,\nThe Northwind disputes team\n\n(This message was sent automatically; replies to it reach the team.)';

export function receiptText(name: string): string {
  const hello = name ? `Hello ${name},` : 'Hello,';
  return `${hello}\n\nthank you for your message: we have received your dispute and are looking into it. We will write to you in this thread as soon as we know more.${SIGN_OFF}`;
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
