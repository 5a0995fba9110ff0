import type { RunView } from '../../src/engine/types.js';
import { html, type SafeHtml } from '../layout.js';

type Step = RunView['steps'][number];

/**
 * A run's steps on one time axis, one lane per step in the order they were first dispatched: agents that ran at
 * once overlap, then the manager, the checkpoint's wait until its decision, the side effects. Inline SVG (geometry
 * in attributes, colours in the stylesheet: the console's policy forbids inline styles), described for screen
 * readers, with the steps table beside it saying the same in words.
 *
 * A wait for a person can last days while the agents took a second: a gap with nothing happening that dwarfs the
 * rest is drawn as a fixed-width break labelled with its length, so the short steps stay readable.
 */

const WIDTH = 960;
const LABEL = 210;
const PAD_RIGHT = 90;
const AXIS = 26;
const ROW = 26;
const BAR = 14;
const BREAK_PX = 56;

export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const min = Math.floor(ms / 60_000);
  if (min < 60) return `${min} min ${Math.round((ms % 60_000) / 1_000)} s`;
  const h = Math.floor(min / 60);
  if (h < 48) return `${h} h ${min % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

interface Bar {
  step: Step;
  start: number;
  end: number;
  /** Still going: drawn to now. */
  open: boolean;
}

interface Segment {
  from: number;
  to: number;
  compressed: boolean;
}

function barsOf(steps: readonly Step[], now: number): Bar[] {
  return steps.flatMap((step) => {
    const started = step.startedAt ? new Date(step.startedAt).getTime() : undefined;
    const finished = step.finishedAt ? new Date(step.finishedAt).getTime() : undefined;
    const start = started ?? finished;
    if (start === undefined) return [];
    const open = finished === undefined && (step.status === 'running' || step.status === 'waiting');
    return [{ step, start, end: finished ?? (open ? Math.max(now, start) : start), open }];
  });
}

/** The axis cut at the moments something starts or ends; gaps that dwarf everything else are compressed. */
function segmentsOf(bars: readonly Bar[], origin: number): Segment[] {
  const times = [...new Set([origin, ...bars.flatMap((b) => [b.start, b.end])])].sort((a, b) => a - b);
  const segments: Segment[] = [];
  for (let i = 1; i < times.length; i++)
    segments.push({ from: times[i - 1] as number, to: times[i] as number, compressed: false });
  for (let round = 0; round < 3; round++) {
    const open = segments.filter((s) => !s.compressed);
    const longest = open.reduce<Segment | undefined>(
      (m, s) => (!m || s.to - s.from > m.to - m.from ? s : m),
      undefined,
    );
    if (!longest) break;
    const rest = open.reduce((a, s) => a + (s === longest ? 0 : s.to - s.from), 0);
    const len = longest.to - longest.from;
    if (len < 2_000 || len < 3 * rest) break;
    longest.compressed = true;
  }
  return segments;
}

function scaleOf(segments: readonly Segment[]) {
  const avail = WIDTH - LABEL - PAD_RIGHT;
  const breaks = segments.filter((s) => s.compressed).length;
  const linearMs = segments.reduce((a, s) => a + (s.compressed ? 0 : s.to - s.from), 0);
  const perMs = linearMs > 0 ? (avail - breaks * BREAK_PX) / linearMs : 0;
  const widthOf = (s: Segment) => (s.compressed ? BREAK_PX : (s.to - s.from) * perMs);
  return (t: number): number => {
    let x = LABEL;
    for (const s of segments) {
      if (t >= s.to) {
        x += widthOf(s);
        continue;
      }
      if (t > s.from) x += ((t - s.from) / Math.max(1, s.to - s.from)) * widthOf(s);
      break;
    }
    return Math.round(x * 10) / 10;
  };
}

const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** A step's bar, its label and its length. */
function lane(bar: Bar, i: number, x: (t: number) => number, origin: number): SafeHtml {
  const y = AXIS + i * ROW;
  const x0 = x(bar.start);
  const w = Math.max(3, x(bar.end) - x0);
  const s = bar.step;
  const took = duration(bar.end - bar.start);
  const what = bar.open ? `${s.status} for ${took} so far` : `${s.status}, took ${took}`;
  const label = `${s.name} (${s.kind}): ${what}, started at +${duration(bar.start - origin)}, ${s.attempts} attempt${s.attempts === 1 ? '' : 's'}${s.error ? `, error: ${s.error.message}` : ''}`;
  const textRight = x0 + w + 6 + 70 < WIDTH;
  return html`<g class="tl-lane"><title>${label}</title><text class="tl-name" x="8" y="${y + BAR - 2}">${short(s.name, 26)}</text><rect class="tl-bar k-${s.kind} st-${s.status}${bar.open ? ' open' : ''}" x="${x0}" y="${y + 2}" width="${Math.round(w * 10) / 10}" height="${BAR}" rx="3"></rect><text class="tl-took" x="${textRight ? x0 + w + 6 : x0 - 6}" y="${y + BAR - 2}"${textRight ? '' : html` text-anchor="end"`}>${bar.open ? `${took}…` : took}${s.status === 'failed' ? ' ✕ failed' : ''}</text></g>`;
}

function axis(
  segments: readonly Segment[],
  x: (t: number) => number,
  origin: number,
  end: number,
  rows: number,
): SafeHtml {
  const bottom = AXIS + rows * ROW;
  const ticks: number[] = [origin];
  for (const s of segments) if (s.compressed) ticks.push(s.from, s.to);
  ticks.push(end);
  let lastX = -Infinity;
  const labels: SafeHtml[] = [];
  for (const t of [...new Set(ticks)].sort((a, b) => a - b)) {
    const tx = x(t);
    if (tx - lastX < 64 && t !== end) continue;
    lastX = tx;
    labels.push(
      html`<line class="tl-tick" x1="${tx}" x2="${tx}" y1="${AXIS - 4}" y2="${bottom}"></line><text class="tl-axis" x="${tx}" y="${AXIS - 8}" text-anchor="${t === end ? 'end' : 'middle'}">+${duration(t - origin)}</text>`,
    );
  }
  const breaks = segments
    .filter((s) => s.compressed)
    .map(
      (s) =>
        html`<g class="tl-break"><rect class="tl-gap" x="${x(s.from) + 4}" y="${AXIS}" width="${BREAK_PX - 8}" height="${rows * ROW}"></rect><text class="tl-axis" x="${x(s.from) + BREAK_PX / 2}" y="${bottom + 14}" text-anchor="middle">≈ ${duration(s.to - s.from)}</text></g>`,
    );
  return html`${breaks}${labels}`;
}

/** The timeline figure; `now` ends the bars of steps still running or waiting. */
export function timeline(opts: { steps: readonly Step[]; createdAt: Date; now: Date }): SafeHtml {
  const bars = barsOf(opts.steps, opts.now.getTime());
  if (bars.length === 0) return html`<p class="muted">No step has started yet.</p>`;
  const origin = Math.min(new Date(opts.createdAt).getTime(), ...bars.map((b) => b.start));
  const end = Math.max(origin + 1, ...bars.map((b) => b.end));
  const segments = segmentsOf(bars, origin);
  const x = scaleOf(segments);
  const height = AXIS + bars.length * ROW + 22;
  const compressed = segments.filter((s) => s.compressed);
  const desc = `${bars.length} steps over ${duration(end - origin)}${compressed.length > 0 ? `; ${compressed.length} idle stretch${compressed.length === 1 ? '' : 'es'} (${compressed.map((s) => duration(s.to - s.from)).join(', ')}) drawn shortened` : ''}. The steps table below lists the same.`;
  return html`<figure class="timeline"><svg viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" aria-labelledby="tl-title" aria-describedby="tl-desc"><title id="tl-title">Timeline of the run's steps</title><desc id="tl-desc">${desc}</desc>${axis(segments, x, origin, end, bars.length)}${bars.map((b, i) => lane(b, i, x, origin))}</svg><figcaption class="muted">${desc}</figcaption></figure>`;
}
