import type { Reply, RespondRequest } from '../../src/offline-model/index.js';
import type { DisputeReason } from './input.js';
import {
  type IntakeFields,
  type IntakeInput,
  type IntakeKind,
  type IntakeResult,
  intakeInputSchema,
  mergeIntakeFields,
  questionFor,
  REQUIRED_INTAKE_FIELDS,
} from './intake-agent.js';

/**
 * How the offline model plays `dispute-intake`: regular expressions for what customers actually write (charge ids,
 * "49,00 €", "$199", "charged twice"). Deterministic, and conservative like a careful model: a value it cannot read
 * with confidence stays null and becomes a question, never a guess.
 */

const CHARGE_ID = /\b((?:ch|py)_[A-Za-z0-9]{1,64})\b/;
const SYMBOLS: Record<string, string> = { '€': 'EUR', $: 'USD', US$: 'USD', '£': 'GBP', '¥': 'JPY', 'CHF ': 'CHF' };
const CODES = 'EUR|USD|GBP|CHF|JPY|CAD|AUD|SEK|NOK|DKK|PLN|CZK';
const NUMBER = String.raw`\d{1,3}(?:[.,\s]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?`;
// Ordered: an explicit ISO code beats a symbol ("$" is also CAD/AUD), code after the number beats code before it.
const AMOUNT_PATTERNS: { re: RegExp; amount: number; currency: number | string }[] = [
  { re: new RegExp(String.raw`(${NUMBER})\s?(${CODES})\b`, 'i'), amount: 1, currency: 2 },
  { re: new RegExp(String.raw`\b(${CODES})\s?(${NUMBER})`, 'i'), amount: 2, currency: 1 },
  { re: new RegExp(String.raw`(US\$|[€$£¥])\s?(${NUMBER})`), amount: 2, currency: 1 },
  { re: new RegExp(String.raw`(${NUMBER})\s?([€$£¥])`), amount: 1, currency: 2 },
];

/** "1.234,56" and "1,234.56" are both 1234.56; "49,00" is 49.00; a lone separator with three digits is thousands. */
export function parseAmount(raw: string): number | null {
  const s = raw.replace(/\s/g, '');
  const lastSep = Math.max(s.lastIndexOf('.'), s.lastIndexOf(','));
  let normalised: string;
  if (lastSep === -1) normalised = s;
  else {
    const decimals = s.length - lastSep - 1;
    normalised =
      decimals <= 2 ? `${s.slice(0, lastSep).replace(/[.,]/g, '')}.${s.slice(lastSep + 1)}` : s.replace(/[.,]/g, '');
  }
  const n = Number(normalised);
  return Number.isFinite(n) && n > 0 ? Math.round(n * 100) / 100 : null;
}

function findAmount(text: string): { amount: number; currency: string } | null {
  for (const p of AMOUNT_PATTERNS) {
    const m = p.re.exec(text);
    if (!m) continue;
    const amount = parseAmount(m[p.amount as number] ?? '');
    const rawCurrency = (m[p.currency as number] ?? '').trim();
    const currency = SYMBOLS[rawCurrency] ?? rawCurrency.toUpperCase();
    if (amount !== null && /^[A-Z]{3}$/.test(currency)) return { amount, currency };
  }
  return null;
}

const REASON_RULES: [DisputeReason, RegExp][] = [
  ['duplicate', /(charged (me )?twice|double[- ]?charged|duplicate|two (identical )?charges|charged two times)/i],
  [
    'not_received',
    /(never (arrived|received|came|got)|not (been )?(received|delivered|arrived)|(didn't|did not|haven't|have not) (receive|arrive|get)|(hasn't|has not) arrived)/i,
  ],
  ['subscription_canceled', /(cancel+ed|cancel+ation|unsubscribed)/i],
  ['fraudulent', /(did ?n[o']t authori[sz]e|not authori[sz]ed|unauthori[sz]ed|stolen|fraud|hacked|someone else)/i],
  ['unrecognized', /(do ?n[o']t recogni[sz]e|unrecogni[sz]ed|no idea what|never heard of)/i],
  [
    'not_as_described',
    /(not as described|does ?n[o']t work|broken|defective|misleading|advertised|missing|coming soon|not what)/i,
  ],
];

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/;
// An address introduced as the account's, e.g. "my account is ada@example.com" or "registered under …".
const ACCOUNT_EMAIL = new RegExp(
  String.raw`(?:account|registered|signed up|login|e-?mail(?: address)?)\b[^\n@]{0,40}?(${EMAIL.source})`,
  'i',
);

/** The customer's own words: no quoted earlier mail, no signature, no forwarded header block. */
function ownWords(text: string): string {
  const lines: string[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (/^-- ?$/.test(line)) break;
    if (/^On .+ wrote:$/.test(line.trim())) break;
    if (line.trimStart().startsWith('>')) continue;
    lines.push(line);
  }
  return lines
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

// A reply that only answers a question ("It is ch_1002") is not a description of the problem.
const MIN_DESCRIPTION_WORDS = 6;

function extract(text: string, input: IntakeInput): IntakeFields {
  const haystack = [input.subject ?? '', text, ...input.attachments.map((a) => a.text)].join('\n');
  const money = findAmount(haystack);
  const own = ownWords(text);
  const words = own.split(/\s+/).filter(Boolean).length;
  const accountEmail = ACCOUNT_EMAIL.exec(own)?.[1] ?? null;
  return {
    customerEmail: accountEmail ?? input.sender.email,
    customerName: input.sender.name,
    chargeId: CHARGE_ID.exec(haystack)?.[1] ?? null,
    amount: money?.amount ?? null,
    currency: money?.currency ?? null,
    reason: REASON_RULES.find(([, re]) => re.test(`${input.subject ?? ''}\n${own}`))?.[0] ?? null,
    description: words >= MIN_DESCRIPTION_WORDS ? own.slice(0, 2_000) : null,
  };
}

// Words of someone writing about money taken from them; without one of these a message is not a dispute.
const CHARGE_WORDS =
  /\b(charge[sd]?|charging|refund(ed)?|dispute[sd]?|billed|billing|payment|chargeback|card|debited|paid|invoice|subscription|transaction)\b/i;
// Fewer own words than this and a message without any charge word is too short to call "other".
const MIN_OTHER_WORDS = 4;

/**
 * Classifies like a careful reader: a reason, a charge id, or an amount next to charge words make a dispute;
 * earlier turns that established one keep it one (an answer "It is ch_2001" alone says little); text without any
 * charge word is about something else; the rest (charge words but nothing specific, or almost no text) is unclear.
 */
function classify(input: IntakeInput, found: IntakeFields): IntakeKind {
  const own = ownWords(input.text);
  const text = `${input.subject ?? ''}\n${own}`;
  const earlier = input.known.chargeId !== null || input.known.reason !== null;
  if (earlier || found.reason !== null || found.chargeId !== null) return 'dispute';
  if (found.amount !== null && CHARGE_WORDS.test(text)) return 'dispute';
  if (!CHARGE_WORDS.test(text) && own.split(/\s+/).filter(Boolean).length >= MIN_OTHER_WORDS) return 'other';
  return 'unclear';
}

function summarise(kind: IntakeKind, fields: IntakeFields, input: IntakeInput): string {
  if (kind === 'dispute') {
    const parts = [
      fields.chargeId ? `charge ${fields.chargeId}` : 'a charge',
      fields.amount !== null && fields.currency ? `${fields.amount.toFixed(2)} ${fields.currency}` : null,
      fields.reason ? fields.reason.replaceAll('_', ' ') : null,
    ].filter(Boolean);
    return `Disputes ${parts.join(', ')}`;
  }
  const first = ownWords(input.text).replace(/\s+/g, ' ').trim();
  const quote = first.length > 120 ? `${first.slice(0, 119)}…` : first;
  const lead = kind === 'other' ? 'Not about a card charge' : 'Could not tell what this is about';
  return quote ? `${lead}: "${quote}"` : `${lead} (no text)`;
}

function intake(req: RespondRequest): Reply {
  const input = intakeInputSchema.parse(req.input);
  const found = extract(input.text, input);
  // What was established earlier stays unless the new message states something else; the description is kept
  // from the first message so a short answer does not replace the customer's account of what happened.
  const fields = mergeIntakeFields(input.known, {
    ...found,
    description: input.known.description ? null : found.description,
    customerEmail: input.known.customerEmail && found.customerEmail === input.sender.email ? null : found.customerEmail,
  });
  const missing = REQUIRED_INTAKE_FIELDS.filter((k) => fields[k] === null);
  const kind = classify(input, found);
  const output: IntakeResult = {
    kind,
    summary: summarise(kind, fields, input),
    fields,
    missing,
    question: questionFor(missing, input.source),
  };
  return { output };
}

export const intakeResponder = { agent: 'dispute-intake', respond: intake };
