import * as vega from 'vega';

/**
 * Advance widths of Helvetica/Arial (per 1000 em) for printable ASCII, from the fonts' metrics files. Without a
 * canvas Vega guesses 0.8 em per character, which makes every title and label box ~40% too wide and shrinks the
 * charts; these widths keep the guess close to the real text and the same on every machine.
 */
const WIDTHS = [
  278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556,
  556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833,
  722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556,
  556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334,
  260, 334, 584,
];
/** Browsers often fall back to DejaVu Sans, a little wider than Helvetica: err on the wide side. */
const FALLBACK_FONT_SCALE = 1.12;

interface TextItem {
  fontSize?: number;
  fontWeight?: string | number;
}
type TextMetrics = { width: (item: TextItem, text: unknown) => number };

function textWidth(item: TextItem, text: unknown): number {
  const value = Array.isArray(text) ? text.join(' ') : String(text ?? '');
  let units = 0;
  for (const char of value) units += WIDTHS[(char.codePointAt(0) ?? 0) - 32] ?? 600;
  const bold = item.fontWeight === 'bold' || Number(item.fontWeight) >= 600 ? 1.08 : 1;
  return (units / 1000) * (item.fontSize ?? 11) * FALLBACK_FONT_SCALE * bold;
}

/**
 * Vega documents `textMetrics.width` as replaceable (vl-convert does the same); it is exported at runtime
 * but missing from the typings.
 */
export function useTextWidths(): void {
  const metrics = (vega as unknown as { textMetrics?: TextMetrics }).textMetrics;
  if (metrics) metrics.width = textWidth;
}
