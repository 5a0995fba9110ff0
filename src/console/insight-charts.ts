import type { TopLevelSpec } from 'vega-lite';
import { percentileMarkers, renderSvg } from '../evals/charts.js';
import { count, percent, usd } from '../evals/format.js';
import type { DecisionTimeRow, InsightSource, InsightsData } from './insights.js';

/**
 * The insights charts: Vega-Lite rendered to SVG on the server (the eval report's renderer), so the page needs no
 * chart script and the PNG download is the same picture. Each chart carries its numbers in words (the SVG's
 * aria-label), as a table (the page's <details> and the CSV), and never by colour alone: bars are labelled directly,
 * and the stacked outcomes differ by pattern as well as by colour.
 */

export const INSIGHT_CHART_NAMES = [
  'runs-per-day',
  'decision-time-by-channel',
  'decision-time-by-approver',
  'cost-per-run',
  'cost-by-agent-model',
  'agreement',
] as const;
export type InsightChartName = (typeof INSIGHT_CHART_NAMES)[number];

export interface ChartTable {
  columns: string[];
  rows: (string | number)[][];
}

export interface InsightChart {
  name: InsightChartName;
  title: string;
  description: string;
  svg: string;
  table: ChartTable;
}

interface ChartDefinition {
  title: string;
  /** The store reads this chart needs (`workflow`: whether the page is filtered to one). */
  needs(workflow: boolean): InsightSource[];
  table(data: InsightsData): ChartTable;
  /** The spec and the description in words. */
  spec(data: InsightsData, title: string): { spec: TopLevelSpec; description: string };
}

const INK = '#1b1f24';
const MUTED = '#424a53';
const BAR = '#0b5cad';
const TRACK = '#eef1f4';

/** Okabe–Ito colours (told apart with common colour blindness), each paired with its own pattern. */
const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#999933', '#000000'];
const PATTERNS = [
  '',
  '<path d="M0 0V8" stroke="#fff" stroke-width="3"/>',
  '<circle cx="4" cy="4" r="1.8" fill="#fff"/>',
  '<path d="M0 0V8M0 0H8" stroke="#fff" stroke-width="2.5"/>',
  '<path d="M0 4H8" stroke="#fff" stroke-width="3"/>',
  '<path d="M0 0V8" stroke="#fff" stroke-width="2"/><path d="M4 0V8" stroke="#fff" stroke-width="1"/>',
  '<rect width="4" height="4" fill="#fff"/><rect x="4" y="4" width="4" height="4" fill="#fff"/>',
  '<circle cx="4" cy="4" r="2.5" fill="none" stroke="#fff" stroke-width="1.2"/>',
];
const ROTATE = ['', 'rotate(45)', '', 'rotate(45)', '', 'rotate(-45)', '', ''];

function patternDefs(prefix: string, n: number): string {
  const defs = Array.from({ length: n }, (_, i) => {
    const k = i % PATTERNS.length;
    const transform = ROTATE[k] ? ` patternTransform="${ROTATE[k]}"` : '';
    return `<pattern id="${prefix}-${i}" patternUnits="userSpaceOnUse" width="8" height="8"${transform}><rect width="8" height="8" fill="${PALETTE[k]}"/>${PATTERNS[k]}</pattern>`;
  });
  return `<defs>${defs.join('')}</defs>`;
}

/** Outcomes in a reading order: decided ones first, then those still open, then failures. */
const LATE = ['completed', 'waiting', 'in progress', 'cancelled', 'failed'];
function outcomeOrder(outcomes: Iterable<string>): string[] {
  const rank = (o: string) => LATE.indexOf(o);
  return [...new Set(outcomes)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

const runs = (n: number) => `${count(n)} ${n === 1 ? 'run' : 'runs'}`;
const periodText = (d: InsightsData) =>
  `${d.period.days[0]} to ${d.period.days.at(-1)}${d.workflow ? `, ${d.workflow}` : ', all workflows'}`;

/** A chart with nothing to draw: one line of text where the marks would be. */
function emptySpec(title: string, subtitle: string | string[], message: string): TopLevelSpec {
  return {
    title: { text: title, subtitle },
    width: 420,
    height: 60,
    data: { values: [{ message }] },
    mark: { type: 'text', fontSize: 14, fill: MUTED, align: 'left', x: 0, y: 30 },
    encoding: { text: { field: 'message' } },
  };
}

const runsPerDay: ChartDefinition = {
  title: 'Runs per day by workflow and outcome',
  needs: () => ['runs', 'agreements'],
  table: (d) => ({
    columns: ['day', 'workflow', 'outcome', 'runs'],
    rows: d.runsPerDay.map((r) => [r.day, r.workflow, r.outcome, r.runs]),
  }),
  spec(d, title) {
    const subtitle = periodText(d);
    const total = d.runsPerDay.reduce((s, r) => s + r.runs, 0);
    if (total === 0)
      return {
        spec: emptySpec(title, subtitle, 'No runs started in this period.'),
        description: `${title}: no runs, ${subtitle}.`,
      };
    const outcomes = outcomeOrder(d.runsPerDay.map((r) => r.outcome));
    const byOutcome = outcomes.map(
      (o) => `${o}: ${runs(d.runsPerDay.filter((r) => r.outcome === o).reduce((s, r) => s + r.runs, 0))}`,
    );
    const busiest = [
      ...d.runsPerDay.reduce((m, r) => m.set(r.day, (m.get(r.day) ?? 0) + r.runs), new Map<string, number>()),
    ].sort((a, b) => b[1] - a[1])[0];
    const description = `Stacked bar chart. ${title}, ${subtitle}: ${runs(total)} in all; by outcome ${byOutcome.join(', ')}${
      busiest ? `; busiest day ${busiest[0]} with ${runs(busiest[1])}` : ''
    }. Each outcome has its own pattern; the legend names them in stacking order.`;
    const every = d.period.days.length <= 7 ? 1 : d.period.days.length <= 30 ? 5 : 15;
    const labelDays = d.period.days.filter((_, i) => i % every === 0);
    const x = {
      field: 'day',
      type: 'ordinal' as const,
      scale: { domain: d.period.days },
      axis: { values: labelDays, labelAngle: 0, title: 'Day (UTC)', labelExpr: 'slice(datum.value, 5)' },
    };
    return {
      description,
      spec: {
        title: { text: title, subtitle: [subtitle, "Outcome: the run's status, or what was decided once it finished"] },
        data: { values: d.runsPerDay.map((r) => ({ ...r, rank: outcomes.indexOf(r.outcome) })) },
        facet: {
          row: {
            field: 'workflow',
            type: 'nominal',
            title: null,
            header: { labelFontSize: 13, labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top' },
          },
        },
        spec: {
          width: Math.min(720, Math.max(520, d.period.days.length * 22)),
          height: 150,
          layer: [
            {
              mark: { type: 'bar', stroke: 'white', strokeWidth: 1 },
              encoding: {
                x,
                y: { field: 'runs', type: 'quantitative', aggregate: 'sum', title: 'Runs', axis: { tickMinStep: 1 } },
                fill: {
                  field: 'outcome',
                  type: 'nominal',
                  scale: { domain: outcomes, range: outcomes.map((_, i) => `url(#runs-per-day-${i})`) },
                  legend: {
                    title: 'Outcome',
                    symbolType: 'square',
                    symbolSize: 260,
                    symbolStrokeColor: INK,
                    symbolStrokeWidth: 0.5,
                    labelFontSize: 12,
                    titleFontSize: 12,
                  },
                },
                order: { field: 'rank', type: 'quantitative' },
              },
            },
            ...(d.period.days.length <= 30
              ? [
                  {
                    mark: { type: 'text' as const, dy: -6, fontWeight: 'bold' as const },
                    encoding: {
                      x,
                      y: { field: 'runs', type: 'quantitative' as const, aggregate: 'sum' as const },
                      text: { field: 'runs', type: 'quantitative' as const, aggregate: 'sum' as const },
                    },
                  },
                ]
              : []),
          ],
        },
      } as TopLevelSpec,
    };
  },
};

/** The unit a set of waits reads best in. */
function waitUnit(maxMs: number): { ms: number; name: string } {
  if (maxMs < 120_000) return { ms: 1000, name: 'seconds' };
  if (maxMs < 2 * 3_600_000) return { ms: 60_000, name: 'minutes' };
  if (maxMs < 3 * 86_400_000) return { ms: 3_600_000, name: 'hours' };
  return { ms: 86_400_000, name: 'days' };
}

function waitText(ms: number): string {
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min`;
  if (ms < 48 * 3_600_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} days`;
}

function decisionTime(by: 'channel' | 'approver', rowsOf: (d: InsightsData) => DecisionTimeRow[]): ChartDefinition {
  return {
    title: `Time from checkpoint to decision, by ${by}`,
    needs: () => ['decisions'],
    table: (d) => ({
      columns: [by, 'decisions', 'p50_seconds', 'p90_seconds'],
      rows: rowsOf(d).map((r) => [
        r.group,
        r.decisions,
        Math.round(r.p50Ms / 100) / 10,
        Math.round(r.p90Ms / 100) / 10,
      ]),
    }),
    spec(d, title) {
      const rows = rowsOf(d);
      const subtitle = periodText(d);
      if (rows.length === 0)
        return {
          spec: emptySpec(title, subtitle, 'No person decided a checkpoint in this period.'),
          description: `${title}: no decisions, ${periodText(d)}.`,
        };
      const unit = waitUnit(Math.max(...rows.map((r) => r.p90Ms)));
      const values = rows.map((r) => ({
        group: r.group,
        p50: r.p50Ms / unit.ms,
        p90: r.p90Ms / unit.ms,
        label: `p50 ${waitText(r.p50Ms)} · p90 ${waitText(r.p90Ms)} · n=${r.decisions}`,
      }));
      const description = `Bar chart. ${title}, ${subtitle}: ${rows
        .map(
          (r) =>
            `${r.group}: median ${waitText(r.p50Ms)}, 90th percentile ${waitText(r.p90Ms)} over ${r.decisions} ${r.decisions === 1 ? 'decision' : 'decisions'}`,
        )
        .join('; ')}. Solid bar: median; outlined bar: 90th percentile.`;
      const max = Math.max(...values.map((v) => v.p90), 1e-9);
      return {
        description,
        spec: {
          title: {
            text: title,
            subtitle: [
              `${subtitle}; decisions by people (not policy or timeout)`,
              'Solid bar: median (p50); outlined bar: 90th percentile (p90)',
            ],
          },
          width: 300,
          height: { step: 30 },
          data: { values },
          encoding: {
            y: { field: 'group', type: 'nominal', sort: null, title: by === 'channel' ? 'Channel' : 'Approver' },
          },
          layer: [
            {
              mark: { type: 'bar', fill: TRACK, stroke: MUTED, strokeWidth: 1, height: { band: 0.75 } },
              encoding: {
                x: {
                  field: 'p90',
                  type: 'quantitative',
                  scale: { domain: [0, max * 1.9] },
                  axis: { title: `Time to decision (${unit.name})`, tickCount: 4 },
                },
              },
            },
            {
              mark: { type: 'bar', fill: BAR, height: { band: 0.45 } },
              encoding: { x: { field: 'p50', type: 'quantitative' } },
            },
            {
              mark: { type: 'text', align: 'left', dx: 6 },
              encoding: { x: { field: 'p90', type: 'quantitative' }, text: { field: 'label' } },
            },
          ],
        },
      };
    },
  };
}

interface Bin {
  start: number;
  end: number;
  runs: number;
}

/** Equal-width bins with a step of 1, 2 or 5 times a power of ten, so the axis reads in round numbers. */
function bins(values: readonly number[]): Bin[] {
  if (values.length === 0) return [];
  const max = Math.max(...values);
  const raw = Math.max(max / 10, 1e-6);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].find((m) => m * power >= raw) ?? 10) * power;
  const out = Array.from({ length: Math.floor(max / step) + 1 }, (_, i) => ({
    start: i * step,
    end: (i + 1) * step,
    runs: 0,
  }));
  for (const v of values) {
    const bin = out[Math.min(out.length - 1, Math.floor(v / step))];
    if (bin) bin.runs += 1;
  }
  return out;
}

const costPerRun: ChartDefinition = {
  title: 'Cost per run',
  needs: () => ['runs'],
  table: (d) => ({
    columns: ['cost_from_usd', 'cost_to_usd', 'runs'],
    rows: bins(d.cost.perRun).map((b) => [Number(b.start.toPrecision(6)), Number(b.end.toPrecision(6)), b.runs]),
  }),
  spec(d, title) {
    const c = d.cost;
    const subtitle = [periodText(d), `Total ${usd(c.totalUsd)}; per run p50 ${usd(c.p50Usd)}, p90 ${usd(c.p90Usd)}`];
    if (c.perRun.length === 0)
      return {
        spec: emptySpec(title, periodText(d), 'No runs started in this period.'),
        description: `${title}: no runs, ${periodText(d)}.`,
      };
    const values = bins(c.perRun);
    const busiest = [...values].sort((a, b) => b.runs - a.runs)[0];
    const description = `Histogram of the estimated model cost of each of ${runs(c.perRun.length)}, ${periodText(d)}: total ${usd(c.totalUsd)}, median ${usd(c.p50Usd)}, 90th percentile ${usd(c.p90Usd)}${
      busiest ? `; most runs (${busiest.runs}) cost between ${usd(busiest.start)} and ${usd(busiest.end)}` : ''
    }. Dashed line: median; dotted line: 90th percentile.`;
    const top = Math.ceil(Math.max(1, ...values.map((b) => b.runs)) * 1.4);
    return {
      description,
      spec: {
        title: { text: title, subtitle },
        width: 420,
        height: 200,
        layer: [
          {
            data: { values },
            mark: { type: 'bar', fill: BAR, stroke: 'white', strokeWidth: 1 },
            encoding: {
              x: {
                field: 'start',
                type: 'quantitative',
                bin: 'binned',
                axis: { format: '$.4~f', title: 'Estimated model cost of the run (USD)', labelOverlap: true },
              },
              x2: { field: 'end' },
              y: {
                field: 'runs',
                type: 'quantitative',
                title: 'Runs',
                axis: { tickMinStep: 1 },
                scale: { domainMax: top },
              },
            },
          },
          {
            data: { values: values.filter((b) => b.runs > 0) },
            transform: [{ calculate: '(datum.start + datum.end) / 2', as: 'mid' }],
            mark: { type: 'text', dy: -7, fontWeight: 'bold' },
            encoding: {
              x: { field: 'mid', type: 'quantitative' },
              y: { field: 'runs', type: 'quantitative' },
              text: { field: 'runs', type: 'quantitative' },
            },
          },
          ...percentileMarkers(c.p50Usd, c.p90Usd, usd),
        ],
      },
    };
  },
};

const costByAgentModel: ChartDefinition = {
  title: 'Model cost by agent and model',
  needs: (workflow) => (workflow ? ['calls', 'runs'] : ['calls']),
  table: (d) => ({
    columns: ['agent', 'model', 'calls', 'cost_usd', 'input_tokens', 'output_tokens'],
    rows: d.costByAgentModel.map((r) => [
      r.agent,
      r.model,
      r.calls,
      Number(r.costUsd.toPrecision(8)),
      r.inputTokens,
      r.outputTokens,
    ]),
  }),
  spec(d, title) {
    const subtitle = periodText(d);
    const rows = d.costByAgentModel;
    if (rows.length === 0)
      return {
        spec: emptySpec(title, subtitle, 'No model calls in this period.'),
        description: `${title}: no model calls, ${periodText(d)}.`,
      };
    const values = rows.map((r) => ({
      who: `${r.agent} · ${r.model}`,
      cost: r.costUsd,
      label: `${usd(r.costUsd)} · ${count(r.calls)} ${r.calls === 1 ? 'call' : 'calls'}`,
    }));
    const description = `Bar chart. ${title}, ${subtitle}: ${values.map((v) => `${v.who}: ${v.label}`).join('; ')}.`;
    const max = Math.max(...values.map((v) => v.cost), 1e-9);
    return {
      description,
      spec: {
        title: { text: title, subtitle },
        width: 300,
        height: { step: 28 },
        data: { values },
        encoding: { y: { field: 'who', type: 'nominal', sort: null, title: 'Agent · model' } },
        layer: [
          {
            mark: { type: 'bar', fill: BAR, height: { band: 0.7 } },
            encoding: {
              x: {
                field: 'cost',
                type: 'quantitative',
                scale: { domain: [0, max * 1.8] },
                axis: { format: '$.4~f', title: 'Estimated cost (USD)', tickCount: 4 },
              },
            },
          },
          {
            mark: { type: 'text', align: 'left', dx: 6 },
            encoding: { x: { field: 'cost', type: 'quantitative' }, text: { field: 'label' } },
          },
        ],
      },
    };
  },
};

const agreementChart: ChartDefinition = {
  title: 'Agreement between AI and people, by workflow and kind of case',
  needs: () => ['agreements'],
  table: (d) => ({
    columns: ['workflow', 'proposed', 'compared', 'agreed', 'rate'],
    rows: d.agreement.map((r) => [
      r.workflow,
      r.kind,
      r.compared,
      r.agreed,
      Math.round((r.agreed / r.compared) * 1000) / 1000,
    ]),
  }),
  spec(d, title) {
    const subtitle = periodText(d);
    if (d.agreement.length === 0)
      return {
        spec: emptySpec(title, subtitle, 'No person decided a clear proposal in this period.'),
        description: `${title}: nothing compared, ${periodText(d)}.`,
      };
    const values = d.agreement.map((r) => ({
      kind: `${r.workflow} · ${r.kind}`,
      rate: r.agreed / r.compared,
      full: 1,
      label: `${r.agreed} of ${r.compared} kept (${percent(r.agreed / r.compared, 0)})`,
    }));
    const description = `Bar chart. ${title}, ${subtitle}: ${values.map((v) => `${v.kind}: ${v.label}`).join('; ')}.`;
    return {
      description,
      spec: {
        title: {
          text: title,
          subtitle: [subtitle, 'Decisions by people on a clear proposal, by what the AI proposed'],
        },
        width: 260,
        height: { step: 30 },
        data: { values },
        encoding: { y: { field: 'kind', type: 'nominal', sort: null, title: 'Workflow · AI proposed' } },
        layer: [
          {
            mark: { type: 'bar', fill: TRACK, stroke: MUTED, strokeWidth: 1, height: { band: 0.7 } },
            encoding: {
              x: {
                field: 'full',
                type: 'quantitative',
                scale: { domain: [0, 1] },
                axis: {
                  format: '.0%',
                  title: 'Share of decisions that kept the proposal',
                  values: [0, 0.25, 0.5, 0.75, 1],
                },
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
      },
    };
  },
};

const DEFINITIONS: Record<InsightChartName, ChartDefinition> = {
  'runs-per-day': runsPerDay,
  'decision-time-by-channel': decisionTime('channel', (d) => d.timeByChannel),
  'decision-time-by-approver': decisionTime('approver', (d) => d.timeByApprover),
  'cost-per-run': costPerRun,
  'cost-by-agent-model': costByAgentModel,
  agreement: agreementChart,
};

/** The store reads the named charts need. */
export function sourcesFor(names: readonly InsightChartName[], workflow: boolean): Set<InsightSource> {
  return new Set(names.flatMap((n) => DEFINITIONS[n].needs(workflow)));
}

export function chartTable(name: InsightChartName, data: InsightsData): ChartTable {
  return DEFINITIONS[name].table(data);
}

/** One chart as inline SVG with its accessible name, its description in words and its data table. */
export async function renderInsightChart(name: InsightChartName, data: InsightsData): Promise<InsightChart> {
  const def = DEFINITIONS[name];
  const { spec, description } = def.spec(data, def.title);
  let svg = await renderSvg(spec, def.title, description);
  if (name === 'runs-per-day') {
    const outcomes = new Set(data.runsPerDay.map((r) => r.outcome)).size;
    svg = svg.replace(/<\/title>/, () => `</title>${patternDefs(name, outcomes)}`);
  }
  // The console's policy forbids inline styles; Vega writes none today, and this keeps it so.
  svg = svg.replace(/ style="[^"]*"/g, '');
  return { name, title: def.title, description, svg, table: def.table(data) };
}
