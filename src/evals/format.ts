/**
 * Number formats shared by the terminal table, the HTML report and the charts, so one run reads the same
 * everywhere. No locale or clock is consulted: the same run always prints the same text.
 */

/** `0.7917` → `79.2%`; null (nothing compared) → an em dash. */
export function percent(rate: number | null, digits = 1): string {
  return rate === null ? '—' : `${(rate * 100).toFixed(digits)}%`;
}

/** Dollars with two significant digits below a cent (model calls cost fractions of one). */
export function usd(amount: number): string {
  if (amount === 0) return '$0.00';
  if (Math.abs(amount) >= 1) return `$${amount.toFixed(2)}`;
  const decimals = Math.min(8, Math.max(2, Math.ceil(-Math.log10(Math.abs(amount))) + 1));
  return `$${amount.toFixed(decimals)}`;
}

/** `412` → `412 ms`, `1234` → `1.2 s`, `125000` → `2 min 05 s`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
}

/** `12345` → `12,345` (grouped by hand: Intl output depends on the ICU build). */
export function count(n: number): string {
  const [whole = '0', fraction] = String(Math.round(n * 100) / 100).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return fraction ? `${grouped}.${fraction}` : grouped;
}

/** A confidence as two decimals; null → an em dash. */
export function confidence(value: number | null): string {
  return value === null ? '—' : value.toFixed(2);
}

/** `2026-05-01T14:03:09.120Z` → `2026-05-01 14:03:09 UTC`; anything unparsable is shown as given. */
export function utc(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** The judge's mean score on its own 1–5 scale; null (nothing judged) → an em dash. */
export function judgeScore(mean: number | null): string {
  return mean === null ? '—' : `${mean.toFixed(1)} of 5`;
}
