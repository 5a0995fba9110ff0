import type { CaseSlice } from '../evals/types.js';

/**
 * The kinds of case the autonomy boundary moves separately: the outcome the AI proposed, a confidence band and an
 * amount band. Bands are cut points from the configuration file (`autonomy.confidenceBands`, `autonomy.amountBands`);
 * the band names are what people write in `workflows.<name>.slices`, on the command line and in the API.
 */

export interface SliceBands {
  /** Increasing cut points in (0, 1): [0.7, 0.9] gives `<0.7`, `0.7–0.9`, `≥0.9`. */
  confidenceBands: readonly number[];
  /** Increasing cut points in major units: [50, 250, 1000] gives `≤50`, `50–250`, `250–1000`, `>1000`. */
  amountBands: readonly number[];
}

export const DEFAULT_BANDS: SliceBands = { confidenceBands: [0.7, 0.9], amountBands: [50, 250, 1000] };

/** The band of a case that has no confidence or no amount, and the outcome of a proposal that states none. */
const NONE = 'none';
/** In a slice pattern: any value of that field. */
export const ANY = '*';

const num = (n: number) => String(n);

/** Confidence bands, lowest first: a case at exactly a cut point belongs to the band above it (0.9 is `≥0.9`). */
export function confidenceBandNames(cuts: readonly number[]): string[] {
  if (cuts.length === 0) return ['any'];
  const first = cuts[0] as number;
  const last = cuts[cuts.length - 1] as number;
  return [`<${num(first)}`, ...cuts.slice(1).map((cut, i) => `${num(cuts[i] as number)}–${num(cut)}`), `≥${num(last)}`];
}

/** Amount bands, lowest first: a case at exactly a cut point belongs to the band below it (50 is `≤50`). */
export function amountBandNames(cuts: readonly number[]): string[] {
  if (cuts.length === 0) return ['any'];
  const first = cuts[0] as number;
  const last = cuts[cuts.length - 1] as number;
  return [`≤${num(first)}`, ...cuts.slice(1).map((cut, i) => `${num(cuts[i] as number)}–${num(cut)}`), `>${num(last)}`];
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function confidenceBand(confidence: number | null | undefined, cuts: readonly number[]): string {
  if (!finite(confidence)) return NONE;
  const names = confidenceBandNames(cuts);
  const index = cuts.filter((cut) => confidence >= cut).length;
  return names[index] ?? NONE;
}

function amountBand(amount: number | null | undefined, cuts: readonly number[]): string {
  if (!finite(amount)) return NONE;
  const names = amountBandNames(cuts);
  const index = cuts.filter((cut) => amount > cut).length;
  return names[index] ?? NONE;
}

/** A proposal's clear outcome as a slice names it: strings as they are, nothing proposed as `none`. */
function outcomeName(proposed: unknown): string {
  if (proposed === null || proposed === undefined) return NONE;
  return typeof proposed === 'string' ? proposed : JSON.stringify(proposed);
}

/**
 * The slice of one case. `outcome` is the proposal's clear outcome (the agreement's `proposed`); a confidence or an
 * amount that is absent puts the case in the `none` band.
 *
 * @example
 * sliceOf({ outcome: 'accept', confidence: 0.95, amount: 49 }) // { outcome: 'accept', confidenceBand: '≥0.9', amountBand: '≤50' }
 */
export function sliceOf(
  facts: { outcome: unknown; confidence?: number | null; amount?: number | null },
  bands: SliceBands = DEFAULT_BANDS,
): CaseSlice {
  return {
    outcome: outcomeName(facts.outcome),
    confidenceBand: confidenceBand(facts.confidence, bands.confidenceBands),
    amountBand: amountBand(facts.amount, bands.amountBands),
  };
}

/** A stable key for a slice or a slice pattern, e.g. `accept/≥0.9/≤50` (`*` where a pattern takes any value). */
export function sliceKey(slice: CaseSlice): string {
  return `${slice.outcome}/${slice.confidenceBand}/${slice.amountBand}`;
}

/** The same key in plain ASCII, for ids people type: `accept/ge0.9/le50`. */
export function asciiSliceKey(slice: CaseSlice): string {
  const ascii = (band: string) =>
    band.replace('≥', 'ge').replace('≤', 'le').replace('<', 'lt').replace('>', 'gt').replace('–', 'to');
  return `${slice.outcome}/${ascii(slice.confidenceBand)}/${ascii(slice.amountBand)}`;
}

/**
 * A band as people type it, in the canonical form: `>=0.9` and `ge0.9` are `≥0.9`, `<=50` and `le50` are `≤50`,
 * `lt0.7` is `<0.7`, `gt1000` is `>1000`, `50-250` and `50to250` are `50–250`.
 */
export function normalizeBand(text: string): string {
  const t = text.trim().replace(/\s+/g, '');
  const prefixed = /^(>=|<=|ge|le|lt|gt)(.+)$/i.exec(t);
  if (prefixed) {
    const op = (prefixed[1] as string).toLowerCase();
    const sign = op === '>=' || op === 'ge' ? '≥' : op === '<=' || op === 'le' ? '≤' : op === 'lt' ? '<' : '>';
    return `${sign}${prefixed[2]}`;
  }
  const range = /^([0-9.]+)(?:-|to|–|—)([0-9.]+)$/i.exec(t);
  if (range) return `${range[1]}–${range[2]}`;
  return t;
}

/** The kind of case a configured slice or a grant applies to; `*` in a field matches any value. */
export type SlicePattern = CaseSlice;

export function matchesSlice(pattern: SlicePattern, slice: CaseSlice): boolean {
  const field = (p: string, v: string) => p === ANY || p === v;
  return (
    field(pattern.outcome, slice.outcome) &&
    field(pattern.confidenceBand, slice.confidenceBand) &&
    field(pattern.amountBand, slice.amountBand)
  );
}

/** How many fields a pattern names: the most specific matching pattern sets a case's level. */
export function specificity(pattern: SlicePattern): number {
  return [pattern.outcome, pattern.confidenceBand, pattern.amountBand].filter((f) => f !== ANY).length;
}

/** What is wrong with a pattern's band names for these bands (one line each), empty when nothing is. */
export function patternProblems(pattern: Partial<SlicePattern>, bands: SliceBands): string[] {
  const problems: string[] = [];
  const check = (what: string, value: string | undefined, names: string[]) => {
    if (value === undefined || value === ANY || names.includes(value)) return;
    problems.push(`unknown ${what} band "${value}" (bands: ${names.join(', ')})`);
  };
  check('confidence', pattern.confidenceBand, [...confidenceBandNames(bands.confidenceBands), NONE]);
  check('amount', pattern.amountBand, [...amountBandNames(bands.amountBands), NONE]);
  if (pattern.outcome !== undefined && !/^[^/\s]{1,60}$/.test(pattern.outcome))
    problems.push(`outcome "${pattern.outcome}" must be 1-60 characters without spaces or "/"`);
  return problems;
}

/**
 * A pattern from its fields as people give them (band names in any accepted spelling, absent or `*` for any).
 * Returns the problems instead when a band is not one of these bands.
 */
export function patternOf(
  fields: { outcome?: string | undefined; confidence?: string | undefined; amount?: string | undefined },
  bands: SliceBands,
): { ok: true; pattern: SlicePattern } | { ok: false; problems: string[] } {
  const pattern: SlicePattern = {
    outcome: fields.outcome?.trim() || ANY,
    confidenceBand: fields.confidence === undefined ? ANY : normalizeBand(fields.confidence) || ANY,
    amountBand: fields.amount === undefined ? ANY : normalizeBand(fields.amount) || ANY,
  };
  const problems = patternProblems(pattern, bands);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, pattern };
}

/** `outcome=accept,confidence=≥0.9,amount=≤50` (any subset, any order) as a pattern. */
export function parseSlicePattern(
  text: string,
  bands: SliceBands,
): { ok: true; pattern: SlicePattern } | { ok: false; problems: string[] } {
  const fields: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? part : part.slice(0, eq).trim();
    if (eq < 0 || !['outcome', 'confidence', 'amount'].includes(key))
      return { ok: false, problems: [`expected outcome=…, confidence=… or amount=…, got "${part}"`] };
    if (Object.hasOwn(fields, key)) return { ok: false, problems: [`${key} is given twice`] };
    fields[key] = part.slice(eq + 1).trim();
  }
  return patternOf(fields, bands);
}
