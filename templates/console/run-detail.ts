import { diffWords } from 'diff';
import type { RunDetailView } from '../../src/engine/types.js';
import { formatWhen, html, type SafeHtml } from '../layout.js';
import { consolePage, csrfField, liveRegion, type PageViewer } from './layout.js';
import { money, statusBadge } from './runs.js';
import { duration, timeline } from './timeline.js';

type Checkpoint = RunDetailView['checkpoints'][number];
type Step = RunDetailView['steps'][number];

export const FINISHED = new Set(['completed', 'failed', 'cancelled']);

/** Fixed notices after an action (the query string names one; nothing it carries is shown as such). */
export const NOTICES = {
  cancelled: 'The run was cancelled. Its pending checkpoints are cancelled and no further step runs.',
  'already-finished': 'The run had already finished; nothing was changed.',
  retried: 'The step is being tried again; this page follows it.',
} as const;
export type NoticeKey = keyof typeof NOTICES;

export interface RunDetailPageView {
  person: PageViewer;
  /** Already redacted per `console.redact`. */
  run: RunDetailView;
  now: Date;
  notice?: NoticeKey;
}

const json = (v: unknown) => JSON.stringify(v, null, 2) ?? 'null';
const when = (d: Date | string | null | undefined) => (d ? formatWhen(new Date(d)) : '—');
const isAdmin = (p: PageViewer) => p.role === 'admin';

function summary(r: RunDetailView): SafeHtml {
  const u = r.usage;
  return html`<dl class="card">
<dt>Workflow</dt><dd>${r.workflow}</dd>
<dt>Status</dt><dd>${statusBadge(r.status)}</dd>
<dt>Source</dt><dd>${r.source ? `${r.source.channel}${r.source.key ? ` (${r.source.key})` : ''}` : '—'}</dd>
<dt>Created</dt><dd>${when(r.createdAt)}</dd>
<dt>Updated</dt><dd>${when(r.updatedAt)}</dd>
<dt>Tokens</dt><dd>${u.inputTokens.toLocaleString('en-US')} in · ${u.outputTokens.toLocaleString('en-US')} out · ${u.cachedTokens.toLocaleString('en-US')} cached</dd>
<dt>Estimated cost</dt><dd>${money(u.costUsd)}</dd>
${r.error && html`<dt>Error</dt><dd class="error">${r.error.message} (${r.error.code})</dd>`}
${r.cancelled && html`<dt>Cancelled</dt><dd>by ${r.cancelled.actor} at ${when(r.cancelled.at)}${r.cancelled.reason ? `: ${r.cancelled.reason}` : ''}</dd>`}
</dl>`;
}

function stepDuration(s: Step): string {
  if (!s.startedAt) return '—';
  return s.finishedAt ? duration(new Date(s.finishedAt).getTime() - new Date(s.startedAt).getTime()) : 'running';
}

function stepsTable(r: RunDetailView, person: PageViewer): SafeHtml {
  const retry = isAdmin(person) && r.status !== 'cancelled';
  return html`<table><caption class="sr-only">Every step of the run</caption><thead><tr><th scope="col">Step</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col" class="num">Attempts</th><th scope="col">Started</th><th scope="col" class="num">Duration</th><th scope="col">Error</th>${retry && html`<th scope="col">Action</th>`}</tr></thead><tbody>${r.steps.map(
    (s) =>
      html`<tr><th scope="row">${s.name}</th><td>${s.kind}</td><td>${statusBadge(s.status)}</td><td class="num">${s.attempts}</td><td>${when(s.startedAt)}</td><td class="num">${stepDuration(s)}</td><td>${s.error ? html`<span class="error">${s.error.message}</span> <span class="muted">(${s.error.code})</span>` : ''}</td>${
        retry &&
        html`<td>${s.status === 'failed' ? html`<a class="button" href="/runs/${r.id}/steps/${encodeURIComponent(s.id)}/retry">Retry step<span class="sr-only"> ${s.name}</span></a>` : ''}</td>`
      }</tr>`,
  )}</tbody></table>`;
}

/** A call of a try that a person then retried: its agent cell says so, in words. */
function agentCell(agent: string, replacedTry: number | undefined): SafeHtml {
  return replacedTry === undefined
    ? html`<td>${agent}</td>`
    : html`<td>${agent} <span class="muted">(${replacedTry === 0 ? 'first try' : `retry ${replacedTry}`}, before a retry)</span></td>`;
}

function modelCalls(r: RunDetailView): SafeHtml {
  if (r.modelCalls.length === 0) return html`<p class="muted">No model calls.</p>`;
  return html`<table><caption class="sr-only">Model calls</caption><thead><tr><th scope="col">Agent</th><th scope="col">Model</th><th scope="col" class="num">Turn</th><th scope="col" class="num">Tokens in</th><th scope="col" class="num">Out</th><th scope="col" class="num">Cached</th><th scope="col" class="num">Cost</th><th scope="col" class="num">Latency</th><th scope="col">Status</th></tr></thead><tbody>${r.modelCalls.map(
    (m) =>
      html`<tr>${agentCell(m.agent, m.replacedTry)}<td>${m.model}${m.provider && m.provider !== 'default' ? html` <span class="muted">(${m.provider})</span>` : ''}</td><td class="num">${m.turn}</td><td class="num">${m.inputTokens.toLocaleString('en-US')}</td><td class="num">${m.outputTokens.toLocaleString('en-US')}</td><td class="num">${m.cachedTokens.toLocaleString('en-US')}</td><td class="num">${money(m.costUsd)}</td><td class="num">${duration(m.latencyMs)}</td><td>${m.status === 'ok' ? 'ok' : html`<span class="error">error</span>${m.error ? html` <span class="muted">${m.error}</span>` : ''}`}</td></tr>`,
  )}</tbody></table>`;
}

function toolCalls(r: RunDetailView): SafeHtml {
  if (r.toolCalls.length === 0) return html`<p class="muted">No tool calls.</p>`;
  return html`<table class="tool-calls"><caption class="sr-only">Tool calls</caption><thead><tr><th scope="col">Agent</th><th scope="col">Tool</th><th scope="col">Arguments</th><th scope="col">Result or detail</th><th scope="col" class="num">Duration</th><th scope="col">Outcome</th></tr></thead><tbody>${r.toolCalls.map(
    (c) =>
      html`<tr>${agentCell(c.agent, c.replacedTry)}<td>${c.tool}</td><td><pre>${json(c.arguments)}</pre></td><td>${c.detail ? html`<pre>${c.detail}</pre>` : html`<span class="muted">—</span>`}</td><td class="num">${duration(c.durationMs)}</td><td>${c.outcome === 'ok' ? 'ok' : html`<span class="error">${c.outcome}</span>`}</td></tr>`,
  )}</tbody></table>`;
}

/** Before → after; long text as a word diff, where the words "removed"/"added" do not rely on colour. */
function change(before: unknown, after: unknown): SafeHtml {
  if (typeof before === 'string' && typeof after === 'string' && (before.length > 40 || after.length > 40)) {
    return html`<div class="diff">${diffWords(before, after).map((part) => {
      if (part.added) return html`<ins><span class="sr-only">added: </span>${part.value}</ins>`;
      if (part.removed) return html`<del><span class="sr-only">removed: </span>${part.value}</del>`;
      return part.value;
    })}</div>`;
  }
  const text = (v: unknown) => (typeof v === 'string' ? v : json(v));
  return html`<span class="diff"><del><span class="sr-only">before: </span>${text(before)}</del> → <ins><span class="sr-only">after: </span>${text(after)}</ins></span>`;
}

function checkpoint(c: Checkpoint): SafeHtml {
  const d = c.decision;
  const decision = d
    ? html`<dl><dt>Decision</dt><dd>${d.decision}</dd><dt>By</dt><dd>${d.actor}</dd>${d.onBehalfOf && html`<dt>On behalf of</dt><dd>${d.onBehalfOf}</dd>`}<dt>Channel</dt><dd>${d.channel}</dd><dt>When</dt><dd>${when(d.decidedAt)}</dd>${d.comment && html`<dt>Comment</dt><dd>${d.comment}</dd>`}</dl>`
    : html`<p class="muted">Not decided${c.status === 'pending' ? ' yet' : ''}.</p>`;
  const edits =
    d && d.diff.length > 0
      ? html`<h4>Edits</h4><table><thead><tr><th scope="col">Field</th><th scope="col">Before → after</th></tr></thead><tbody>${d.diff.map(
          (e) => html`<tr><th scope="row">${e.field}</th><td>${change(e.before, e.after)}</td></tr>`,
        )}</tbody></table>`
      : d
        ? html`<p class="muted">Decided without edits.</p>`
        : '';
  const approvals =
    c.approvals.length > 0
      ? html`<h4>Approvals</h4><table><thead><tr><th scope="col">Who</th><th scope="col">Channel</th><th scope="col">When</th><th scope="col">On behalf of</th><th scope="col">Comment</th></tr></thead><tbody>${c.approvals.map(
          (a) =>
            html`<tr><td>${a.actor}</td><td>${a.channel}</td><td>${when(a.at)}</td><td>${a.onBehalfOf ?? '—'}</td><td>${a.comment ?? ''}</td></tr>`,
        )}</tbody></table>`
      : '';
  const audit =
    c.audit.length > 0
      ? html`<h4>Audit: refused clicks and other attempts</h4><table><thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Channel</th><th scope="col">Outcome</th><th scope="col">Detail</th></tr></thead><tbody>${c.audit.map(
          (a) =>
            html`<tr><td>${when(a.at)}</td><td>${a.actor}</td><td>${a.channel}</td><td>${a.outcome}</td><td>${a.detail ?? ''}</td></tr>`,
        )}</tbody></table>`
      : html`<p class="muted">No refused or stale attempts.</p>`;
  return html`<section class="card" aria-labelledby="cp-${c.id}"><h3 id="cp-${c.id}">Checkpoint ${c.name} ${statusBadge(c.status)}</h3>${decision}${edits}${approvals}${audit}</section>`;
}

function results(r: RunDetailView): SafeHtml {
  const entries = r.steps.filter((s) => r.results[s.id] !== undefined);
  return html`<details><summary>Input</summary><pre>${json(r.input)}</pre></details>${
    r.output !== null && html`<details><summary>Output</summary><pre>${json(r.output)}</pre></details>`
  }${entries.map((s) => html`<details><summary>Result of ${s.name}</summary><pre>${json(r.results[s.id])}</pre></details>`)}`;
}

/** What the live region shows and refreshes: everything that changes while the run goes on. */
export function runDetailFragment(v: RunDetailPageView): SafeHtml {
  const r = v.run;
  const done = FINISHED.has(r.status);
  return html`<div${done && html` data-live-done`}>${summary(r)}
<h2>Timeline</h2>${timeline({ steps: r.steps, createdAt: r.createdAt, now: v.now })}
<h2>Steps</h2>${stepsTable(r, v.person)}
<h2>Checkpoints</h2>${r.checkpoints.length > 0 ? r.checkpoints.map(checkpoint) : html`<p class="muted">No checkpoint.</p>`}
<h2>Model calls</h2>${modelCalls(r)}
<h2>Tool calls</h2>${toolCalls(r)}
<h2>Input, output and step results</h2>${results(r)}</div>`;
}

export function runDetailPage(v: RunDetailPageView): string {
  const r = v.run;
  const done = FINISHED.has(r.status);
  const actions =
    isAdmin(v.person) && !done
      ? html`<div class="actions"><a class="button danger" href="/runs/${r.id}/cancel">Cancel run</a></div>`
      : '';
  const body = runDetailFragment(v);
  return consolePage({
    title: `Run ${r.id}`,
    person: v.person,
    section: 'runs',
    body: html`<p><a href="/runs">← All runs</a></p><h1>Run <span class="mono">${r.id}</span></h1>${
      v.notice && html`<p class="card notice" role="status">${NOTICES[v.notice]}</p>`
    }${actions}${done ? body : liveRegion({ url: `/runs/${r.id}/live`, label: 'Run status', intervalMs: 4000, body })}`,
  });
}

/** What a confirmation page shows: what will happen, and one button that does it. */
export function confirmActionPage(opts: {
  person: PageViewer;
  title: string;
  runId: string;
  lines: string[];
  action: string;
  button: string;
  confirm: string;
  withReason?: boolean;
  /** Hidden fields: what the person saw, for the server to check it is still so. */
  hidden?: Record<string, string>;
}): string {
  return consolePage({
    title: opts.title,
    person: opts.person,
    section: 'runs',
    body: html`<p><a href="/runs/${opts.runId}">← Back to the run</a></p><h1>${opts.title}</h1>${opts.lines.map((l) => html`<p>${l}</p>`)}<form method="post" action="${opts.action}" data-confirm="${opts.confirm}" class="card">${csrfField(opts.person.csrf)}${Object.entries(opts.hidden ?? {}).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}${
      opts.withReason &&
      html`<label for="reason">Reason <span class="muted">(optional, kept in the run's journal)</span></label><textarea id="reason" name="reason" maxlength="500"></textarea>`
    }<div class="actions"><button type="submit" class="danger">${opts.button}</button><a class="button" href="/runs/${opts.runId}">Keep it as it is</a></div></form>`,
  });
}
