/**
 * Reading a message's header block before anything else is downloaded: whether we may answer it at all
 * (RFC 3834: never answer automatic mail), and what our own receiving server said about the sender (RFC 8601).
 */

export type Headers = ReadonlyMap<string, readonly string[]>;

/** Lower-case name → unfolded values, in the order they appear (top first, i.e. newest hop first). */
export function parseHeaderBlock(raw: Buffer | string): Headers {
  const text = (typeof raw === 'string' ? raw : raw.toString('latin1')).split(/\r?\n\r?\n/)[0] ?? '';
  const out = new Map<string, string[]>();
  for (const field of text.split(/\r?\n(?![ \t])/)) {
    const colon = field.indexOf(':');
    if (colon <= 0) continue;
    const name = field.slice(0, colon).trim().toLowerCase();
    const value = field
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, ' ')
      .trim();
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

export const first = (h: Headers, name: string): string | undefined => h.get(name)?.[0];

/** Message-IDs in a References / In-Reply-To value, angle brackets kept. */
export function messageIds(value: string | undefined): string[] {
  return value?.match(/<[^<>\s]+>/g) ?? [];
}

export function addressOf(value: string | undefined): string | null {
  if (!value) return null;
  const angle = /<([^<>]*)>/.exec(value);
  const candidate = (angle ? angle[1] : value)?.trim().toLowerCase() ?? '';
  return /^[^\s@]+@[^\s@]+$/.test(candidate) ? candidate : candidate === '' ? '' : null;
}

export type Automatic = 'auto-submitted' | 'bulk' | 'list' | 'bounce' | 'own' | 'mailer-daemon';

/**
 * Why a message must not start anything nor be answered, or null when a person wrote it. Checked on headers alone,
 * so out-of-office replies, bounces, list mail and our own messages coming back never reach a parser or a model.
 */
export function automaticReason(h: Headers, ownAddresses: readonly string[]): Automatic | null {
  const auto = first(h, 'auto-submitted')?.toLowerCase();
  if (auto && !auto.startsWith('no')) return 'auto-submitted';
  if (h.has('x-countersign-effect')) return 'own';
  const precedence = first(h, 'precedence')?.toLowerCase();
  if (precedence && /bulk|list|junk|auto_reply/.test(precedence)) return 'bulk';
  if (h.has('list-id') || h.has('list-unsubscribe')) return 'list';
  if (h.has('x-autoreply') || h.has('x-autorespond') || first(h, 'x-auto-response-suppress')?.toLowerCase() === 'all')
    return 'auto-submitted';
  const returnPath = first(h, 'return-path');
  if (returnPath !== undefined && addressOf(returnPath) === '') return 'bounce';
  const contentType = first(h, 'content-type')?.toLowerCase() ?? '';
  if (contentType.includes('multipart/report')) return 'bounce';
  const from = addressOf(first(h, 'from')) ?? '';
  if (/^(mailer-daemon|postmaster)@/.test(from)) return 'mailer-daemon';
  if (ownAddresses.includes(from)) return 'own';
  return null;
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
