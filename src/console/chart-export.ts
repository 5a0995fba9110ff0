import { Resvg } from '@resvg/resvg-js';
import type { ChartTable } from './insight-charts.js';

/** A cell a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, return) is prefixed so it stays text. */
function csvCell(value: string | number): string {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180: CRLF line ends, quoted where needed, a header row first. */
export function toCsv(table: ChartTable): string {
  return `${[table.columns, ...table.rows].map((row) => row.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/**
 * The chart's SVG as a PNG at twice its size, on white (the SVG's own background is white too; a transparent PNG
 * pasted on a dark slide would lose its axes). Fonts come from the system, like a browser's fallback.
 */
export function svgToPng(svg: string): Buffer {
  const png = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: 2 },
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
  }).render();
  return png.asPng();
}
