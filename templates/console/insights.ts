import type { AutonomyReport } from '../../src/autonomy/service.js';
import type { InsightChart, InsightChartName } from '../../src/console/insight-charts.js';
import { html, SafeHtml } from '../layout.js';
import { boundarySection } from './evals.js';
import { consolePage, liveRegion, type PageViewer } from './layout.js';

export interface QueueRow {
  queue: string;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
}

export interface LiveCounts {
  queues: QueueRow[];
  waitingRuns: number;
  pendingCheckpoints: number;
  /** Null when Redis did not answer: the page still shows what the store knows. */
  queuesError: string | null;
}

/** The queue depth and waiting work, as the live region shows and refreshes it. */
export function liveCountsFragment(c: LiveCounts): SafeHtml {
  return html`<p><strong>${c.waitingRuns}</strong> ${c.waitingRuns === 1 ? 'run' : 'runs'} waiting · <strong>${c.pendingCheckpoints}</strong> ${c.pendingCheckpoints === 1 ? 'checkpoint' : 'checkpoints'} pending a person</p>
${
  c.queuesError
    ? html`<p class="error">Queue depth is not available: ${c.queuesError}</p>`
    : html`<table><caption class="sr-only">Jobs per queue now</caption><thead><tr><th scope="col">Queue</th><th scope="col" class="num">Waiting</th><th scope="col" class="num">Active</th><th scope="col" class="num">Delayed</th><th scope="col" class="num">Failed</th></tr></thead><tbody>${c.queues.map(
        (q) =>
          html`<tr><th scope="row">${q.queue}</th><td class="num">${q.waiting}</td><td class="num">${q.active}</td><td class="num">${q.delayed}</td><td class="num">${q.failed}</td></tr>`,
      )}</tbody></table>`
}`;
}

export interface InsightsView {
  person: PageViewer;
  days: number;
  periods: readonly number[];
  workflow: string | null;
  workflows: readonly string[];
  charts: InsightChart[];
  /** The filter as a query string (`?days=30&workflow=…`), for the download links and the live region. */
  query: string;
  truncated: readonly string[];
  /** The boundary of the workflows decided in the period; null when nothing was. */
  boundary: AutonomyReport | null;
  live: LiveCounts;
  liveEtag: string;
}

function table(c: InsightChart): SafeHtml {
  return html`<details><summary>Data table<span class="sr-only">: ${c.title}</span> (${c.table.rows.length} ${c.table.rows.length === 1 ? 'row' : 'rows'})</summary>
<table><caption class="sr-only">${c.title}</caption><thead><tr>${c.table.columns.map((col) => html`<th scope="col">${col}</th>`)}</tr></thead>
<tbody>${c.table.rows.map((row) => html`<tr>${row.map((cell) => (typeof cell === 'number' ? html`<td class="num">${String(cell)}</td>` : html`<td>${cell}</td>`))}</tr>`)}</tbody></table></details>`;
}

function figure(c: InsightChart, query: string): SafeHtml {
  const link = (ext: 'png' | 'csv', label: string) =>
    html`<a href="${`/insights/charts/${c.name}.${ext}${query}`}" download>${label}<span class="sr-only"> of ${c.title}</span></a>`;
  return html`<figure class="card insight" id="${`chart-${c.name}`}">
<div class="chart">${new SafeHtml(c.svg)}</div>
<p class="downloads">${link('png', 'Download PNG')} · ${link('csv', 'Download CSV')}</p>
${table(c)}
</figure>`;
}

function section(
  title: string,
  id: string,
  charts: InsightChart[],
  names: InsightChartName[],
  query: string,
  extra?: SafeHtml,
) {
  const shown = charts.filter((c) => names.includes(c.name));
  return html`<section aria-labelledby="${id}"><h2 id="${id}">${title}</h2><div class="grid2">${shown.map((c) => figure(c, query))}</div>${extra ?? ''}</section>`;
}

/** `/insights`: volume, time to decision, cost, agreement with the boundary, and the queues now. */
export function insightsPage(v: InsightsView): string {
  const filter = html`<form method="get" action="/insights" class="filters card" aria-label="Period and workflow">
<div><label for="days">Period</label><select id="days" name="days">${v.periods.map(
    (d) => html`<option value="${String(d)}"${d === v.days && html` selected`}>Last ${d} days</option>`,
  )}</select></div>
<div><label for="workflow">Workflow</label><select id="workflow" name="workflow"><option value="">All workflows</option>${v.workflows.map(
    (w) => html`<option value="${w}"${w === v.workflow && html` selected`}>${w}</option>`,
  )}</select></div>
<div><button type="submit">Show</button></div></form>`;
  const live = liveRegion({
    url: `/insights/live${v.workflow ? `?workflow=${encodeURIComponent(v.workflow)}` : ''}`,
    etag: v.liveEtag,
    intervalMs: 5000,
    label: 'Queue depth and waiting runs',
    body: liveCountsFragment(v.live),
  });
  return consolePage({
    title: 'Insights',
    person: v.person,
    section: 'insights',
    body: html`<h1>Insights</h1>
<p>Last ${v.days} days (UTC), ${v.workflow ?? 'all workflows'}. Each chart has its numbers as a table below it and as PNG and CSV downloads.</p>
${filter}
${
  v.truncated.length > 0 &&
  html`<div class="card warning" role="status"><p>This period holds more records than one page reads (${v.truncated.join(', ')}): the charts show the newest. Choose a shorter period or one workflow.</p></div>`
}
<section aria-labelledby="now"><h2 id="now">Queues and waiting work now</h2>${live}</section>
${section('Volume', 'volume', v.charts, ['runs-per-day'], v.query)}
${section('Time to decision', 'speed', v.charts, ['decision-time-by-channel', 'decision-time-by-approver'], v.query)}
${section('Cost', 'cost', v.charts, ['cost-per-run', 'cost-by-agent-model'], v.query)}
${section(
  'Agreement and the autonomy boundary',
  'agreement',
  v.charts,
  ['agreement'],
  v.query,
  html`<h3>The autonomy boundary</h3><p>Every workflow's boundary, and Apply and Revoke for admins, are on the <a href="/evals">Evals page</a>.</p>${
    v.boundary
      ? boundarySection(v.boundary, null)
      : html`<p>No decision was made in this period, so there is no agreement to weigh here.</p>`
  }`,
)}`,
  });
}
