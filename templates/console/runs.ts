import type { RunSummary } from '../../src/console/runs-query.js';
import { formatWhen, html, type SafeHtml } from '../layout.js';
import { consolePage, type PageViewer } from './layout.js';

/** The filter form's values as the person gave them (strings, so a refused value is shown back as typed). */
export interface RunsFilterValues {
  workflow?: string;
  status?: string;
  from?: string;
  to?: string;
  customer?: string;
  approver?: string;
  q?: string;
}

export interface RunsListView {
  person: PageViewer;
  workflows: string[];
  statuses: readonly string[];
  filters: RunsFilterValues;
  runs: RunSummary[];
  /** Links to the next pages, already carrying the filters. */
  olderHref?: string;
  newerHref?: string;
  /** Fields the query string got wrong: shown above the form (the page answers 400). */
  problems?: { field: string; message: string }[];
}

/** Estimated cost: model calls cost fractions of a cent, so below a dollar it shows four decimals. */
export function money(usd: number): string {
  return `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;
}

/** A status as a word in a badge: the colour repeats what the word says. */
export function statusBadge(status: string): SafeHtml {
  return html`<span class="badge s-${status}">${status}</span>`;
}

const FIELD_LABELS: Record<keyof RunsFilterValues, string> = {
  workflow: 'Workflow',
  status: 'Status',
  from: 'Created from',
  to: 'Created to',
  customer: 'Customer email',
  approver: 'Approver',
  q: 'Search',
};

function fieldLabel(field: string): string {
  return (FIELD_LABELS as Record<string, string>)[field] ?? field;
}

function select(name: keyof RunsFilterValues, options: readonly string[], value: string | undefined): SafeHtml {
  return html`<div><label for="f-${name}">${FIELD_LABELS[name]}</label><select id="f-${name}" name="${name}"><option value="">Any</option>${options.map(
    (o) => html`<option value="${o}"${o === value && html` selected`}>${o}</option>`,
  )}</select></div>`;
}

function input(name: keyof RunsFilterValues, type: string, value: string | undefined, hint?: string): SafeHtml {
  return html`<div><label for="f-${name}">${FIELD_LABELS[name]}</label><input type="${type}" id="f-${name}" name="${name}" value="${value ?? ''}"${hint && html` placeholder="${hint}"`}></div>`;
}

function filterForm(v: RunsListView): SafeHtml {
  const f = v.filters;
  return html`<form method="get" action="/runs" class="card" role="search" aria-label="Filter runs"><div class="filters">
${input('q', 'search', f.q, 'run id or email, or their start')}
${select('workflow', v.workflows, f.workflow)}
${select('status', v.statuses, f.status)}
${input('from', 'date', f.from)}
${input('to', 'date', f.to)}
${input('customer', 'email', f.customer)}
${input('approver', 'text', f.approver, 'who decided a checkpoint')}
</div><div class="actions"><button type="submit" class="primary">Filter</button><a class="button" href="/runs">Clear</a></div></form>`;
}

function row(r: RunSummary): SafeHtml {
  return html`<tr>
<td><a href="/runs/${r.id}">${r.id}</a></td>
<td>${r.workflow}</td>
<td>${statusBadge(r.status)}</td>
<td>${r.customer ?? html`<span class="muted">—</span>`}</td>
<td class="num">${r.waitingOn > 0 ? html`${r.waitingOn} checkpoint${r.waitingOn === 1 ? '' : 's'}` : html`<span class="muted">—</span>`}</td>
<td class="num">${money(r.costUsd)}<span class="muted"> · ${r.tokens.toLocaleString('en-US')} tok</span></td>
<td>${formatWhen(r.createdAt)}</td>
<td>${formatWhen(r.updatedAt)}</td>
</tr>`;
}

function pager(v: RunsListView): SafeHtml {
  if (!v.newerHref && !v.olderHref) return html``;
  return html`<nav class="pager" aria-label="Pages">${v.newerHref ? html`<a href="${v.newerHref}" rel="prev">← Newer</a>` : ''}${v.olderHref ? html`<a href="${v.olderHref}" rel="next">Older →</a>` : ''}</nav>`;
}

/** GET /runs: the filter form (a plain GET form), then the page of runs, newest first. */
export function runsListPage(v: RunsListView): string {
  const filtered = Object.values(v.filters).some((x) => x !== undefined && x !== '');
  const problems = v.problems?.length
    ? html`<div class="card errors" role="alert"><p class="error">The filters could not be read:</p><ul>${v.problems.map(
        (p) => html`<li><strong>${fieldLabel(p.field)}</strong>: ${p.message}</li>`,
      )}</ul></div>`
    : '';
  const table =
    v.runs.length === 0
      ? html`<p class="card">${
          problems
            ? 'Fix the filters above to see runs.'
            : filtered
              ? 'No runs match these filters. Clear them to see every run.'
              : 'No runs yet. A run starts when a workflow receives work: a webhook, an email, a Slack command or a form.'
        }</p>`
      : html`<table><caption class="sr-only">Runs, newest first</caption><thead><tr>
<th scope="col">Run</th><th scope="col">Workflow</th><th scope="col">Status</th><th scope="col">Customer</th>
<th scope="col" class="num">Waiting on</th><th scope="col" class="num">Cost</th><th scope="col">Started</th><th scope="col">Updated</th>
</tr></thead><tbody>${v.runs.map(row)}</tbody></table>`;
  return consolePage({
    title: 'Runs',
    person: v.person,
    section: 'runs',
    body: html`<h1>Runs</h1>${problems}${filterForm(v)}${pager(v)}${table}${pager(v)}`,
  });
}
