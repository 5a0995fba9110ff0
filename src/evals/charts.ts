import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { html } from '../../templates/layout.js';
import { useTextWidths } from './chart-text.js';
import { confidence, duration, percent, usd } from './format.js';
import type { EvalRun, EvalSummary } from './types.js';

/** One chart of the report: inline SVG that carries its own accessible name. */
export interface ReportChart {
  id: 'agreement-by-outcome' | 'calibration' | 'cost-per-case' | 'latency-per-case';
  title: string;
  /** What the chart shows, in words and numbers: the SVG's title and aria-label, and the figure's caption. */
  description: string;
  svg: string;
}

const INK = '#1b1f24';
const MUTED = '#424a53';
const BAR = '#0b5cad';
const TRACK = '#eef1f4';

/**
 * Dark ink on white, larger type than Vega's defaults, and `aria: false`: the SVG is one image with one
 * description, not hundreds of unnamed graphics symbols a screen reader would walk through.
 */
const CONFIG: TopLevelSpec['config'] = {
  aria: false,
  background: 'white',
  font: 'system-ui, -apple-system, "Segoe UI", sans-serif',
  padding: 12,
  view: { stroke: null },
  axis: {
    labelFontSize: 12,
    titleFontSize: 13,
    labelColor: INK,
    titleColor: INK,
    domainColor: MUTED,
    tickColor: MUTED,
    gridColor: '#d8dee4',
    labelLimit: 220,
  },
  title: { fontSize: 15, anchor: 'start', color: INK, subtitleFontSize: 12, subtitleColor: MUTED, offset: 12 },
  text: { fontSize: 12, fill: INK },
};

/**
 * Vega renders the compiled spec headless (`renderer: 'none'`: no canvas, no DOM, no network) to an SVG string;
 * text widths are estimated rather than measured, so the output is the same on every machine.
 */
export async function renderSvg(spec: TopLevelSpec, title: string, description: string): Promise<string> {
  useTextWidths();
  const view = new vega.View(vega.parse(compile({ ...spec, config: CONFIG }).spec), {
    renderer: 'none',
    logLevel: vega.Error,
  });
  try {
    const svg = await view.toSVG();
    // Vega still marks some groups as graphics objects; inside one role="img" they would only be noise.
    const quiet = svg.replace(/<[^>]+>/g, (tag) => tag.replace(/ (role|aria-roledescription|aria-label)="[^"]*"/g, ''));
    // A replacer function, not a replacement string: descriptions hold dollar amounts (`$1.20` would read as `$1`).
    return quiet.replace(
      /^<svg ([^>]*)>/,
      (_, attributes: string) =>
        html`<svg role="img" aria-label="${description}" focusable="false" `.value +
        `${attributes}>${html`<title>${title}</title>`.value}`,
    );
  } finally {
    view.finalize();
  }
}

const cases = (n: number) => `${n} ${n === 1 ? 'case' : 'cases'}`;

function agreementChart(summary: EvalSummary): Promise<ReportChart> {
  const rows = summary.byOutcome.map((o) => ({
    outcome: o.outcome,
    rate: o.rate ?? 0,
    full: 1,
    label:
      o.rate === null ? `${cases(o.cases)}, none compared` : `${o.agreed} of ${o.cases} agreed (${percent(o.rate, 0)})`,
  }));
  const title = 'Agreement with people by expected outcome';
  const description = `Bar chart. ${title}: ${
    rows.length === 0 ? 'no cases were compared' : rows.map((r) => `${r.outcome}: ${r.label}`).join('; ')
  }. Overall ${percent(summary.agreement.rate)} of ${summary.agreement.compared} compared cases.`;
  const spec: TopLevelSpec = {
    title: { text: title, subtitle: `Overall ${percent(summary.agreement.rate)} of ${summary.agreement.compared}` },
    width: 250,
    height: { step: 34 },
    data: { values: rows },
    encoding: {
      y: { field: 'outcome', type: 'nominal', sort: null, title: 'Expected outcome' },
    },
    layer: [
      {
        // The whole track is drawn and outlined, so the agreed share reads as a length, not as a colour.
        mark: { type: 'bar', fill: TRACK, stroke: MUTED, strokeWidth: 1, height: { band: 0.7 } },
        encoding: {
          x: {
            field: 'full',
            type: 'quantitative',
            scale: { domain: [0, 1] },
            axis: { format: '.0%', title: 'Share of cases where the AI agreed', values: [0, 0.25, 0.5, 0.75, 1] },
          },
        },
      },
      {
        mark: { type: 'bar', fill: BAR, height: { band: 0.7 } },
        encoding: { x: { field: 'rate', type: 'quantitative' } },
      },
      {
        mark: { type: 'text', align: 'left', dx: 8 },
        encoding: { x: { field: 'full', type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  };
  return renderSvg(spec, title, description).then((svg) => ({ id: 'agreement-by-outcome', title, description, svg }));
}

function calibrationChart(summary: EvalSummary): Promise<ReportChart> {
  const points = summary.calibration.flatMap((bin) =>
    bin.cases > 0 && bin.meanConfidence !== null && bin.agreementRate !== null
      ? [{ band: bin.band, confidence: bin.meanConfidence, agreement: bin.agreementRate, label: `n=${bin.cases}` }]
      : [],
  );
  const title = 'Calibration: does confidence predict agreement?';
  const ece = summary.calibrationError === null ? 'not computed' : summary.calibrationError.toFixed(3);
  const description = `Calibration curve. For each confidence band, the AI's mean confidence against the share of cases where it agreed with people, beside a dashed diagonal of perfect calibration. ${
    points.length === 0
      ? 'No case carried a confidence.'
      : summary.calibration
          .filter((bin) => bin.cases > 0)
          .map(
            (bin) =>
              `Band ${bin.band}: ${cases(bin.cases)}, mean confidence ${confidence(bin.meanConfidence)}, agreement ${percent(bin.agreementRate, 0)}`,
          )
          .join('; ')
  }. Expected calibration error ${ece}.`;
  const axis = (label: string) => ({ format: '.0%', title: label, tickCount: 5 });
  const spec: TopLevelSpec = {
    title: { text: title, subtitle: `Expected calibration error ${ece}; each point is one band, n = its cases` },
    width: 340,
    height: 340,
    layer: [
      {
        data: { values: [{ x: 0, y: 0, x2: 1, y2: 1 }] },
        mark: { type: 'rule', stroke: MUTED, strokeDash: [6, 4], strokeWidth: 1.5 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, axis: axis('Mean confidence in the band') },
          y: { field: 'y', type: 'quantitative', scale: { domain: [0, 1] }, axis: axis('Share of cases agreed') },
          x2: { field: 'x2' },
          y2: { field: 'y2' },
        },
      },
      {
        data: { values: [{ x: 0.56, y: 0.6 }] },
        // The plot is square, so −45° follows the diagonal.
        mark: { type: 'text', text: 'perfectly calibrated', angle: -45, fill: MUTED, dy: -8 },
        encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: points },
        mark: {
          type: 'line',
          stroke: BAR,
          strokeWidth: 2,
          point: { filled: true, fill: BAR, size: 90, shape: 'diamond' },
        },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'agreement', type: 'quantitative' },
          order: { field: 'confidence', type: 'quantitative' },
        },
      },
      {
        data: { values: points },
        mark: { type: 'text', align: 'right', dx: -9, dy: -9, fontWeight: 'bold' },
        encoding: {
          x: { field: 'confidence', type: 'quantitative' },
          y: { field: 'agreement', type: 'quantitative' },
          text: { field: 'label' },
        },
      },
    ],
  };
  return renderSvg(spec, title, description).then((svg) => ({ id: 'calibration', title, description, svg }));
}

interface Bin {
  start: number;
  end: number;
  cases: number;
}

/** 1, 2 or 5 times a power of ten: bin edges people can read off the axis. */
function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].find((m) => m * power >= raw) ?? 10;
  return step * power;
}

/** Equal-width bins over the values, computed here so a run where every case cost the same still draws a bar. */
function histogram(values: number[], smallestStep: number, maxBins = 12): Bin[] {
  if (values.length === 0) return [];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const step = niceStep(Math.max((max - min) / maxBins, Math.abs(max) / 1000, smallestStep));
  const first = Math.floor(min / step) * step;
  const bins = Array.from({ length: Math.floor((max - first) / step) + 1 }, (_, i) => ({
    start: first + i * step,
    end: first + (i + 1) * step,
    cases: 0,
  }));
  for (const value of values) {
    const bin = bins[Math.min(bins.length - 1, Math.floor((value - first) / step))];
    if (bin) bin.cases += 1;
  }
  return bins;
}

interface DistributionOptions {
  id: ReportChart['id'];
  title: string;
  unit: string;
  axisTitle: string;
  values: number[];
  smallestStep: number;
  /** Axis label format (d3-format) and the same for labels in words. */
  axisFormat: string;
  format: (value: number) => string;
  p50: number;
  p90: number;
  subtitle: string;
}

type ChartLayer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];

/**
 * The median and 90th percentile of a distribution chart as two labelled lines, dashed and dotted, so they are told
 * apart without colour (the eval report's histograms and the console's cost per run).
 */
export function percentileMarkers(p50: number, p90: number, format: (value: number) => string): ChartLayer[] {
  const markers = [
    { value: p50, label: `p50 ${format(p50)}`, dash: [6, 4], row: 0 },
    { value: p90, label: `p90 ${format(p90)}`, dash: [2, 3], row: 16 },
  ];
  return [
    {
      data: { values: markers },
      mark: { type: 'rule', stroke: INK, strokeWidth: 2 },
      encoding: {
        x: { field: 'value', type: 'quantitative' },
        strokeDash: { field: 'dash', type: 'nominal', scale: null, legend: null },
      },
    },
    {
      data: { values: markers },
      mark: { type: 'text', align: 'left', dx: 5, baseline: 'top', fontWeight: 'bold' },
      encoding: {
        x: { field: 'value', type: 'quantitative' },
        y: { field: 'row', type: 'quantitative', scale: null },
        text: { field: 'label' },
      },
    },
  ];
}

function distributionChart(o: DistributionOptions): Promise<ReportChart> {
  const bins = histogram(o.values, o.smallestStep);
  const busiest = [...bins].sort((a, b) => b.cases - a.cases)[0];
  const description = `Histogram of ${o.unit} over ${cases(o.values.length)}: median ${o.format(o.p50)}, 90th percentile ${o.format(o.p90)}${
    busiest ? `; the most cases (${busiest.cases}) between ${o.format(busiest.start)} and ${o.format(busiest.end)}` : ''
  }. Dashed line: median; dotted line: 90th percentile.`;
  const x = {
    field: 'start',
    type: 'quantitative' as const,
    bin: 'binned' as const,
    axis: { format: o.axisFormat, title: o.axisTitle, labelOverlap: true },
  };
  const spec: TopLevelSpec = {
    title: { text: o.title, subtitle: o.subtitle },
    width: 360,
    height: 220,
    layer: [
      {
        data: { values: bins },
        mark: { type: 'bar', fill: BAR, stroke: 'white', strokeWidth: 1 },
        encoding: {
          x,
          x2: { field: 'end' },
          y: {
            field: 'cases',
            type: 'quantitative',
            title: 'Cases',
            axis: { tickMinStep: 1 },
            // Headroom above the tallest bar keeps the p50/p90 labels clear of the bars' counts.
            scale: { domainMax: Math.ceil(Math.max(1, ...bins.map((b) => b.cases)) * 1.4) },
          },
        },
      },
      {
        data: { values: bins.filter((b) => b.cases > 0) },
        mark: { type: 'text', dy: -7, fontWeight: 'bold' },
        encoding: {
          x: { field: 'mid', type: 'quantitative' },
          y: { field: 'cases', type: 'quantitative' },
          text: { field: 'cases', type: 'quantitative' },
        },
        transform: [{ calculate: '(datum.start + datum.end) / 2', as: 'mid' }],
      },
      ...percentileMarkers(o.p50, o.p90, o.format),
    ],
  };
  return renderSvg(spec, o.title, description).then((svg) => ({ id: o.id, title: o.title, description, svg }));
}

/** The report's charts, in reading order. The same run always renders the same SVG. */
export async function evalCharts(run: EvalRun): Promise<ReportChart[]> {
  const { summary } = run;
  const costs = run.cases.map((c) => c.usage.costUsd);
  const decimals = Math.min(6, Math.max(2, Math.ceil(-Math.log10(Math.max(...costs, 1e-6) / 10))));
  return Promise.all([
    agreementChart(summary),
    calibrationChart(summary),
    distributionChart({
      id: 'cost-per-case',
      title: 'Cost per case',
      unit: 'cost per case in US dollars',
      axisTitle: 'Estimated cost of the case’s model calls (USD)',
      values: costs,
      smallestStep: 10 ** -(decimals + 1),
      axisFormat: `$.${decimals}f`,
      format: usd,
      p50: summary.cost.p50Usd,
      p90: summary.cost.p90Usd,
      subtitle: `Total ${usd(summary.cost.totalUsd)}, ${usd(summary.cost.perCaseUsd)} per case on average`,
    }),
    distributionChart({
      id: 'latency-per-case',
      title: 'Latency per case',
      unit: 'wall time per case',
      axisTitle: 'Wall time of the case, model time included (seconds)',
      values: run.cases.map((c) => c.latencyMs / 1000),
      smallestStep: 0.01,
      axisFormat: '.2~f',
      format: (seconds) => duration(seconds * 1000),
      p50: summary.latency.p50Ms / 1000,
      p90: summary.latency.p90Ms / 1000,
      subtitle: `Model requests per case, summed: ${duration(summary.latency.meanModelMs)} on average (agents run in parallel)`,
    }),
  ]);
}
