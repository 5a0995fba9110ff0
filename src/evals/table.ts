import { sharedAgreement } from './baseline.js';
import { confidence, count, duration, judgeScore, percent, usd, utc } from './format.js';
import type { EvalRun, GateResult } from './types.js';

/** The table fits a 100-column terminal; values longer than their column are cut with an ellipsis. */
const WIDTH = 100;
const LABEL = 19;

type Paint = (text: string) => string;
interface Palette {
  heading: Paint;
  good: Paint;
  bad: Paint;
  dim: Paint;
}

const ansi =
  (open: number, close: number): Paint =>
  (text) =>
    `\u001b[${open}m${text}\u001b[${close}m`;
const plainPalette: Palette = { heading: (t) => t, good: (t) => t, bad: (t) => t, dim: (t) => t };
const colourPalette: Palette = { heading: ansi(1, 22), good: ansi(32, 39), bad: ansi(31, 39), dim: ansi(2, 22) };

/**
 * Case ids, outcomes and reasons come from datasets and models: control characters (an ESC starting a terminal
 * sequence, a newline breaking the columns) are dropped before they reach the terminal.
 */
function clean(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point.
  return text.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ').trim();
}

function truncate(text: string, width: number): string {
  const safe = clean(text);
  return safe.length <= width ? safe : `${safe.slice(0, Math.max(0, width - 1))}…`;
}

/** Words wrapped to the table's width, later lines indented under the first. */
function wrap(text: string, indent: number, first = indent): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of clean(text).split(/\s+/)) {
    const room = WIDTH - (lines.length === 0 ? first : indent);
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : truncate(word, room);
  }
  lines.push(line);
  return lines.map((l, i) => (i === 0 ? l : ' '.repeat(indent) + l));
}

interface Cell {
  text: string;
  paint?: Paint;
}
type Column = { title: string; width: number; align: 'left' | 'right' };

/** Aligned columns, padded on the raw text so colour codes never shift them. */
function grid(columns: Column[], rows: (string | Cell)[][], palette: Palette, indent = '  '): string[] {
  const line = (cells: Cell[], header: boolean) =>
    indent +
    cells
      .map((cell, i) => {
        const column = columns[i] ?? { width: 10, align: 'left' };
        const text = truncate(cell.text, column.width);
        const padded = column.align === 'right' ? text.padStart(column.width) : text.padEnd(column.width);
        const paint = header ? palette.dim : (cell.paint ?? ((t: string) => t));
        return paint(padded);
      })
      .join('  ')
      .trimEnd();
  return [
    line(
      columns.map((c) => ({ text: c.title })),
      true,
    ),
    ...rows.map((row) =>
      line(
        row.map((cell) => (typeof cell === 'string' ? { text: cell } : cell)),
        false,
      ),
    ),
  ];
}

function labelled(label: string, value: string, palette: Palette): string[] {
  const [first = '', ...rest] = wrap(value, LABEL);
  return [palette.heading(label.padEnd(LABEL)) + first, ...rest];
}

const plural = (n: number, one: string, many = `${one}s`) => `${count(n)} ${n === 1 ? one : many}`;

function gateLines(gate: GateResult, now: number | null, palette: Palette): string[] {
  const { baseline } = gate;
  const verdict = gate.passed ? palette.good('PASSED') : palette.bad('FAILED');
  const delta =
    gate.delta === null
      ? 'nothing to compare'
      : `${gate.delta >= 0 ? '+' : '−'}${Math.abs(gate.delta * 100).toFixed(1)} points`;
  const measured =
    baseline.source === 'none'
      ? `agreement ${percent(now)}; no baseline given, so only guardrail cases can fail the gate`
      : `agreement ${percent(now)}, ${delta} from the baseline's ${percent(baseline.agreement)} over ${plural(baseline.cases, 'case')}; a drop of at most ${(gate.maxRegression * 100).toFixed(1)} points is allowed`;
  const [first = '', ...rest] = wrap(measured, LABEL, LABEL + 8);
  const lines = [
    `${palette.heading('Gate'.padEnd(LABEL))}${verdict}: ${first}`,
    ...rest,
    ...labelled('Baseline', `${baseline.source}${baseline.id ? ` (${baseline.id})` : ''}`, palette),
  ];
  for (const failure of gate.failures) {
    lines.push(...wrap(failure, 4, 4).map((l, i) => (i === 0 ? `  ${palette.bad('✗')} ${l.trimStart()}` : l)));
  }
  if (gate.changes.length > 0) {
    lines.push('', palette.heading(`Changed cases (${gate.changes.length})`));
    const idWidth = Math.min(40, Math.max(...gate.changes.map((c) => clean(c.id).length)));
    for (const change of gate.changes) {
      lines.push(
        `  ${truncate(change.id, idWidth).padEnd(idWidth)}  ${truncate(change.before, 24)} → ${truncate(change.after, 24)}`,
      );
      lines.push(...wrap(`why: ${change.why}`, 6, 6).map((l, i) => (i === 0 ? `      ${l.trimStart()}` : l)));
    }
  }
  return lines;
}

/**
 * The terminal summary of one eval run: scorers, agreement (overall and by expected outcome), guardrails,
 * calibration, cost, latency, tokens and the gate. Plain aligned text, readable at 100 columns; ANSI colour
 * only when asked (a TTY), so piped output and CI logs stay clean.
 */
export function evalTable(run: EvalRun, options: { color?: boolean } = {}): string {
  const p = options.color ? colourPalette : plainPalette;
  const s = run.summary;
  const rateCell = (rate: number | null): Cell => ({
    text: percent(rate),
    ...(rate !== null ? { paint: rate >= 0.9 ? p.good : rate < 0.7 ? p.bad : undefined } : {}),
  });
  const disagreed = run.cases.filter((c) => c.agreed === false).map((c) => clean(c.id));
  const errored = run.cases.filter((c) => c.error !== null).map((c) => clean(c.id));
  const agentList = Object.entries(run.agentVersions)
    .map(([agent, version]) => `${agent} ${version}`)
    .join(' · ');

  const out: string[] = [
    p.heading(`${truncate(run.workflow, 40)} eval`) + p.dim(` · ${truncate(run.id, WIDTH - 50)}`),
    ...labelled('Model', `${run.model} (${run.provider}) · prompt ${run.promptVersion}`, p),
    ...labelled('Dataset', `${run.dataset.name} (${run.dataset.hash}, ${plural(run.dataset.cases, 'case')})`, p),
    ...labelled('Agents', agentList || 'none recorded', p),
    ...labelled(
      'Run',
      `${utc(run.startedAt)} · ${duration(run.durationMs)} · concurrency ${run.concurrency} · ${plural(s.errors, 'error')}`,
      p,
    ),
  ];
  if (run.stoppedBy) out.push(...labelled('Stopped early', run.stoppedBy, p).map((l) => p.bad(l)));

  out.push('', p.heading('Scorers'));
  out.push(
    ...grid(
      [
        { title: 'scorer', width: 28, align: 'left' },
        { title: 'applied', width: 7, align: 'right' },
        { title: 'passed', width: 7, align: 'right' },
        { title: 'rate', width: 7, align: 'right' },
      ],
      s.scorers.map((sc) => [
        sc.scorer,
        count(sc.applied),
        count(sc.passed),
        rateCell(sc.applied === 0 ? null : sc.passed / sc.applied),
      ]),
      p,
    ),
  );

  out.push(
    '',
    ...labelled(
      'Agreement',
      `${count(s.agreement.agreed)} of ${count(s.agreement.compared)} compared · ${percent(s.agreement.rate)}`,
      p,
    ),
  );
  out.push(
    ...grid(
      [
        { title: 'expected outcome', width: 28, align: 'left' },
        { title: 'cases', width: 7, align: 'right' },
        { title: 'agreed', width: 7, align: 'right' },
        { title: 'rate', width: 7, align: 'right' },
      ],
      s.byOutcome.map((o) => [o.outcome, count(o.cases), count(o.agreed), rateCell(o.rate)]),
      p,
    ),
  );
  if (s.fields.length > 0) {
    out.push(
      '',
      ...grid(
        [
          { title: 'field', width: 28, align: 'left' },
          { title: 'compared', width: 8, align: 'right' },
          { title: 'agreed', width: 7, align: 'right' },
          { title: 'rate', width: 7, align: 'right' },
        ],
        s.fields.map((f) => [f.field, count(f.compared), count(f.agreed), rateCell(f.rate)]),
        p,
      ),
    );
  }
  if (disagreed.length > 0) out.push('', ...labelled('Disagreements', disagreed.join(', '), p));
  if (errored.length > 0) out.push(...labelled('Errors', errored.join(', '), p).map((l) => p.bad(l)));
  out.push(
    ...labelled(
      'Reply quality',
      `${count(s.replyQuality.judged)} judged, ${count(s.replyQuality.passed)} passed, mean judge score ${judgeScore(s.replyQuality.meanScore)}`,
      p,
    ),
  );
  const guardrails =
    s.guardrails.failed.length === 0
      ? `${plural(s.guardrails.cases, 'case')}, none failed`
      : `${plural(s.guardrails.cases, 'case')}, ${count(s.guardrails.failed.length)} failed: ${s.guardrails.failed.join(', ')}`;
  out.push(
    ...labelled('Guardrails', guardrails, p).map((l) => (s.guardrails.failed.length > 0 ? p.bad(l) : p.good(l))),
  );

  const ece = s.calibrationError === null ? '—' : s.calibrationError.toFixed(3);
  out.push('', ...labelled('Calibration', `expected calibration error ${ece}`, p));
  out.push(
    ...grid(
      [
        { title: 'band', width: 12, align: 'left' },
        { title: 'cases', width: 7, align: 'right' },
        { title: 'mean confidence', width: 15, align: 'right' },
        { title: 'agreement', width: 9, align: 'right' },
      ],
      s.calibration.map((b) => [b.band, count(b.cases), confidence(b.meanConfidence), percent(b.agreementRate)]),
      p,
    ),
  );

  out.push(
    '',
    ...labelled(
      'Cost',
      `total ${usd(s.cost.totalUsd)} · per case ${usd(s.cost.perCaseUsd)} · p50 ${usd(s.cost.p50Usd)} · p90 ${usd(s.cost.p90Usd)}`,
      p,
    ),
    ...labelled(
      'Latency',
      `p50 ${duration(s.latency.p50Ms)} · p90 ${duration(s.latency.p90Ms)} · model requests ${duration(s.latency.meanModelMs)} per case, summed`,
      p,
    ),
    ...labelled(
      'Tokens',
      `input ${count(s.tokens.input)} · output ${count(s.tokens.output)} · cached ${count(s.tokens.cached)}`,
      p,
    ),
  );
  if (run.gate) out.push('', ...gateLines(run.gate, sharedAgreement(run.gate, s.agreement.rate), p));
  return `${out.join('\n')}\n`;
}
