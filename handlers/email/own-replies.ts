import EmailReplyParser from 'email-reply-parser';
import { recordInboundSuppression, sentMessages } from '../../src/channels/email/intake-records.js';
import type { EmailStore, SentDoc } from '../../src/channels/email/store.js';

/**
 * The second loop breaker, independent of automatic-mail detection: a message that answers one of our automatic
 * messages (its In-Reply-To or References name a Message-ID in `email_sent`) is answered only when it carries
 * new words of a person. A vacation responder that slips past every header check still says nothing new.
 */

export interface ReplyToAutomatic {
  /** Our automatic message it answers. */
  ours: SentDoc;
  /** What the sender added, quotes and signature removed (empty for a bare quote). */
  remainder: string;
  detail: string;
}

/** Replies that carry nothing but an away notice. English, German, French, Spanish, Italian, Dutch, Portuguese. */
const AUTO_REPLY_PHRASES = [
  /\bout of (the )?office\b/i,
  /\b(on|currently on) (vacation|holiday|leave|annual leave|parental leave)\b/i,
  /\b(i am|i'm|i will be) (currently )?(away|out|travell?ing|unavailable|not available)\b/i,
  /\b(limited|no) access to (my )?e-?mail\b/i,
  /\bauto(matic|mated)?[- ]?(reply|response|answer)\b/i,
  /\bthis is an automatic\b/i,
  /\bwill (respond|reply|get back to you|answer).{0,60}\b(return|back)\b/i,
  /\b(abwesend|abwesenheit|nicht im büro|urlaub)\b/i,
  /\b(absent|en congé|en vacances|réponse automatique)\b/i,
  /\b(fuera de la oficina|de vacaciones|respuesta automática|ausente)\b/i,
  /\b(fuori ufficio|in ferie|risposta automatica)\b/i,
  /\b(afwezig|met vakantie|automatisch antwoord)\b/i,
  /\b(fora do escritório|de férias|resposta automática)\b/i,
];
/** An away notice is short; a person who writes at length about their case has something to say. */
const MAX_AWAY_NOTICE_WORDS = 80;

const parser = new EmailReplyParser();

/** The words a person added: quoted text, "On … wrote:" headers and signatures removed by email-reply-parser. */
export function newWords(text: string): string {
  return parser.parseReply(text.replace(/\r\n/g, '\n')).trim();
}

/** True when `remainder` adds nothing a person wrote: empty, or only an away notice. */
export function onlyAutomatic(remainder: string): boolean {
  if (remainder === '') return true;
  const words = remainder.split(/\s+/).filter(Boolean).length;
  return words <= MAX_AWAY_NOTICE_WORDS && AUTO_REPLY_PHRASES.some((re) => re.test(remainder));
}

/**
 * Our nearest message the inbound one answers (In-Reply-To first, then References newest first), when it is one
 * of our automatic messages and the inbound message adds no human words; otherwise null (handle as usual).
 */
export async function replyToAutomatic(
  email: EmailStore,
  mail: { inReplyTo: string | null; references: readonly string[]; text: string },
): Promise<ReplyToAutomatic | null> {
  const ids = [...new Set([mail.inReplyTo, ...[...mail.references].reverse()].filter((x): x is string => !!x))];
  if (ids.length === 0) return null;
  const docs = await sentMessages(email, ids);
  const byId = new Map(docs.map((d) => [d._id, d]));
  const ours = ids.map((id) => byId.get(id)).find((d): d is SentDoc => d !== undefined);
  if (!ours?.automatic) return null;
  const remainder = newWords(mail.text);
  if (!onlyAutomatic(remainder)) return null;
  const what = remainder === '' ? 'no new text' : 'only an away notice';
  return { ours, remainder, detail: `a reply to our ${ours.kind} ${ours._id} with ${what}` };
}

/** Writes the inbound suppression down once per message, for staff and for the loop test. */
export async function recordReplyToAutomatic(
  email: EmailStore,
  messageKey: string,
  found: ReplyToAutomatic,
  now: Date,
): Promise<void> {
  await recordInboundSuppression(email, {
    messageKey,
    address: found.ours.to,
    threadKey: found.ours.threadKey,
    ...(found.ours.runId ? { runId: found.ours.runId } : {}),
    detail: found.detail,
    at: now,
  });
}
