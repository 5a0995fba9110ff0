import libmime from 'libmime';
import addressparser from 'nodemailer/lib/addressparser';

/**
 * Reading a message's header block before anything else is downloaded: who sent it, whether we may answer it at
 * all (automatic.ts), and what our own receiving server said about the sender (RFC 8601). The block is split by
 * libmime and addresses are read by nodemailer's addressparser, the parsers mailparser itself uses, so RFC 5322
 * comments, quoted local parts, groups and encoded words are handled the same way as in the body parse.
 */

export type Headers = ReadonlyMap<string, readonly string[]>;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Raw 8-bit header bytes (RFC 6532 UTF-8, or a legacy charset a client wrote unencoded) as text. */
function headerText(raw: Buffer | string): string {
  if (typeof raw === 'string') return raw;
  try {
    return utf8.decode(raw);
  } catch {
    // Not UTF-8: legacy clients send their own code page unlabelled; latin1 keeps every byte as one character.
    return raw.toString('latin1');
  }
}

/** Lower-case name → unfolded values, in the order they appear (top first, i.e. newest hop first). */
export function parseHeaderBlock(raw: Buffer | string): Headers {
  const text = headerText(raw);
  // Only the header block: a body line with a colon is not a header.
  const end = /(?:^|\r?\n)\r?\n/.exec(text);
  const block = end ? text.slice(0, end.index) : text;
  const parsed = libmime.decodeHeaders(block, { skipPrototypeKeys: true });
  return new Map(Object.entries(parsed).map(([name, values]) => [name, values.map((v) => v.trim())]));
}

export const first = (h: Headers, name: string): string | undefined => h.get(name)?.[0];

/** Message-IDs in a References / In-Reply-To value, angle brackets kept. */
export function messageIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}

export interface Mailbox {
  /** Lower-case; '' for the null address `<>` or a bare name without an address. */
  address: string;
  /** Display name or RFC 5322 comment, encoded words decoded. */
  name: string;
}

const decodeWords = (s: string): string => {
  try {
    return libmime.decodeWords(s);
  } catch {
    return s;
  }
};

/** Every mailbox of an address header, groups flattened. */
export function mailboxes(value: string | undefined): Mailbox[] {
  if (!value) return [];
  return addressparser(value, { flatten: true }).map((a) => ({
    address: (a.address ?? '').trim().toLowerCase(),
    name: decodeWords(a.name ?? ''),
  }));
}

/** The first From mailbox; null when there is no From header at all. */
export function senderOf(h: Headers): Mailbox | null {
  const from = first(h, 'from');
  if (from === undefined) return null;
  return mailboxes(from)[0] ?? { address: '', name: '' };
}

/**
 * The address in a single-address header (From, Return-Path): lower-case, '' for the null path `<>`, null when
 * the value names no address at all.
 */
export function addressOf(value: string | undefined): string | null {
  if (value === undefined) return null;
  const box = mailboxes(value)[0];
  if (!box) return value.trim() === '' ? '' : null;
  if (box.address === '') return /<\s*>/.test(value) || value.trim() === '' ? '' : null;
  return /^[^\s@]+@[^\s@]+$/.test(box.address) ? box.address : null;
}

/** The Subject with encoded words decoded. */
export function subjectOf(h: Headers): string {
  return decodeWords(first(h, 'subject') ?? '').slice(0, 998);
}

type AuthValue = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'temperror' | 'permerror' | 'policy';
export interface Authentication {
  /** The authserv-id whose verdict was used; null when no header came from our own server. */
  authservId: string | null;
  spf: AuthValue | null;
  dkim: AuthValue | null;
  dmarc: AuthValue | null;
  /** pass: DMARC passed; fail: DMARC (or both SPF and DKIM) failed; none: no verdict we can trust. */
  verdict: 'pass' | 'fail' | 'none';
  /** Authentication-Results from other servers, or forged by the sender: counted, never believed. */
  ignored: number;
}

const AUTH_VALUES = new Set(['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror', 'policy']);

/**
 * SPF, DKIM and DMARC as our own receiving server recorded them. Only the topmost Authentication-Results with our
 * authserv-id counts: our server adds its header on top, and RFC 8601 §5 has it remove any claiming its id from
 * below, so a sender writing `Authentication-Results: ours; dmarc=pass` into their message gains nothing.
 */
export function readAuthentication(h: Headers, authservId: string | undefined): Authentication {
  const all = h.get('authentication-results') ?? [];
  const want = authservId?.trim().toLowerCase();
  const index = want
    ? all.findIndex((v) => (v.split(';')[0] ?? '').trim().split(/\s+/)[0]?.toLowerCase() === want)
    : -1;
  const ours = index >= 0 ? all[index] : undefined;
  const result = (method: string): AuthValue | null => {
    const m = ours ? new RegExp(`(?:^|;)\\s*${method}\\s*=\\s*([a-z]+)`, 'i').exec(ours) : null;
    const v = m?.[1]?.toLowerCase();
    return v && AUTH_VALUES.has(v) ? (v as AuthValue) : null;
  };
  const spf = result('spf');
  const dkim = result('dkim');
  const dmarc = result('dmarc');
  const bad = (v: AuthValue | null) => v === 'fail' || v === 'softfail' || v === 'permerror';
  const verdict =
    dmarc === 'pass' ? 'pass' : dmarc === 'fail' || (dmarc === null && bad(spf) && bad(dkim)) ? 'fail' : 'none';
  return {
    authservId: ours ? (want ?? null) : null,
    spf,
    dkim,
    dmarc,
    verdict,
    ignored: all.length - (ours ? 1 : 0),
  };
}
