import type { Recommendation } from '../../src/autonomy/recommend.js';
import type { AutonomyReport, OverrideView, WorkflowBoundaryReport } from '../../src/autonomy/service.js';
import type { EvalRunRow } from '../../src/console/eval-runs.js';
import { html, type SafeHtml } from '../layout.js';
import { consolePage, csrfField, type PageViewer } from './layout.js';

const pct = (rate: number | null, digits = 1) => (rate === null ? '—' : `${(rate * 100).toFixed(digits)}%`);
const when = (d: Date | string) => `${new Date(d).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
const dollars = (x: number) => (x === 0 ? '$0.00' : x >= 1 ? `$${x.toFixed(2)}` : `$${x.toPrecision(2)}`);

/** Who may move the boundary from this page: an admin, with the session's CSRF token. */
export interface BoundaryActions {
  csrf: string;
}

function overrideRow(o: OverrideView, actions: BoundaryActions | null): SafeHtml {
  const g = o.grant;
  const who = g
    ? html`${g.appliedBy}<br><span class="muted">${when(g.appliedAt)}</span>`
    : html`<span class="muted">configuration file</span>`;
  const revoke =
    g && actions
      ? html`<form method="post" action="/evals/autonomy/revoke" data-confirm="${`Revoke the grant on ${o.key} (${o.level})? The slice falls back to the workflow's level.`}">${csrfField(actions.csrf)}<input type="hidden" name="grant" value="${g.id}"><button type="submit" class="danger">Revoke<span class="sr-only"> the grant on ${o.key}</span></button></form>`
      : '';
  return html`<tr><td><code>${o.key}</code></td><td>${o.level}</td><td>${o.inForce}</td><td>${who}</td><td>${g?.reason ?? ''}</td>${actions && html`<td>${revoke}</td>`}</tr>`;
}

function recommendationRow(r: Recommendation, actions: BoundaryActions | null): SafeHtml {
  const movable = r.action !== 'hold';
  const apply =
    actions && movable
      ? html`<form method="post" action="/evals/autonomy/apply" data-confirm="${`Apply: ${r.action} ${r.sliceKey} of ${r.workflow} from ${r.current} to ${r.target}? It is recorded with your name.`}">${csrfField(actions.csrf)}<input type="hidden" name="recommendation" value="${r.id}"><button type="submit" class="primary">Apply<span class="sr-only"> ${r.action} of ${r.sliceKey} to ${r.target}</span></button></form>`
      : '';
  return html`<tr><td><code>${r.sliceKey}</code></td><td><strong>${r.action.toUpperCase()}</strong>${movable && html` ${r.current} → ${r.target}`}</td><td class="num">${r.agreed} of ${r.cases}<br><span class="muted">production ${r.sources.production}, eval ${r.sources.eval}</span></td><td class="num">${pct(r.rate)}</td><td class="num">${pct(r.interval.lower)} – ${pct(r.interval.upper)}</td><td>${r.reason}${r.note && html`<br><span class="muted">${r.note}</span>`}</td>${actions && html`<td>${apply}</td>`}</tr>`;
}

function workflowBoundary(w: WorkflowBoundaryReport, actions: BoundaryActions | null): SafeHtml {
  const h = (text: string) => html`<h4>${text}</h4>`;
  const moving = w.recommendations.filter((r) => r.action !== 'hold');
  const holding = w.recommendations.filter((r) => r.action === 'hold');
  const recHead = html`<thead><tr><th scope="col">Slice</th><th scope="col">Recommendation</th><th scope="col" class="num">Agreed</th><th scope="col" class="num">Rate</th><th scope="col" class="num">Wilson interval</th><th scope="col">Why</th>${actions && html`<th scope="col">Action</th>`}</tr></thead>`;
  return html`<section class="card" aria-label="${`Autonomy boundary of ${w.workflow}`}">
<h3 id="${`boundary-${w.workflow}`}">${w.workflow}</h3>
<dl><dt>Level in force</dt><dd><strong>${w.inForce}</strong> for cases no override matches</dd>
<dt>Workflow level</dt><dd>${w.own} (${w.ownFrom === 'config' ? `workflows.${w.workflow}.autonomy` : 'default'})</dd>
<dt>Ceiling</dt><dd>AUTONOMY=${w.ceiling}</dd>
<dt>Evidence</dt><dd>${w.evidence.production} production decisions${w.evidence.eval ? `; eval ${w.evidence.eval.runId} on ${w.evidence.eval.model}, ${w.evidence.eval.cases} cases` : '; no passing eval run'}</dd></dl>
${h('Overrides in force')}
${
  w.overrides.length === 0
    ? html`<p class="muted">None: every slice runs at the workflow's level.</p>`
    : html`<table><thead><tr><th scope="col">Slice</th><th scope="col">Level</th><th scope="col">In force</th><th scope="col">Applied by</th><th scope="col">Reason</th>${actions && html`<th scope="col">Action</th>`}</tr></thead><tbody>${w.overrides.map((o) => overrideRow(o, actions))}</tbody></table>`
}
${h('Recommendations')}
${
  moving.length === 0
    ? html`<p>No slice has the evidence to move now.</p>`
    : html`<table>${recHead}<tbody>${moving.map((r) => recommendationRow(r, actions))}</tbody></table>`
}
${
  holding.length > 0 &&
  html`<details><summary>Agreement by kind of case: ${holding.length} ${holding.length === 1 ? 'slice holds' : 'slices hold'}</summary><table>${recHead}<tbody>${holding.map((r) => recommendationRow(r, null))}</tbody></table></details>`
}
${
  w.revoked.length > 0 &&
  html`<details><summary>History: ${w.revoked.length} revoked ${w.revoked.length === 1 ? 'grant' : 'grants'}</summary><ul>${w.revoked.map(
    (g) =>
      html`<li><code>${g.key}</code> → ${g.level}, applied by ${g.appliedBy} at ${when(g.appliedAt)}, revoked by ${g.revokedBy ?? 'someone'} at ${g.revokedAt ? when(g.revokedAt) : '—'}</li>`,
  )}</ul></details>`
}
</section>`;
}

/**
 * The autonomy boundary of each workflow: the level in force, the overrides with who applied them, and what the
 * evidence recommends. `actions` (admins only) adds Apply and Revoke, each confirmed and checked again on the server.
 */
export function boundarySection(report: AutonomyReport, actions: BoundaryActions | null): SafeHtml {
  return html`<p>Raise a slice when the Wilson lower bound of agreement reaches ${pct(report.bar.minAgreement)} over at least ${report.bar.minCases} cases; lower it to shadow when live agreement's upper bound falls below ${pct(report.lower.below)} over ${report.lower.minCases} cases in ${report.lower.windowDays} days.</p>
${report.workflows.map((w) => workflowBoundary(w, actions))}`;
}

function runRow(r: EvalRunRow): SafeHtml {
  const gate =
    r.passed === null
      ? html`<span class="muted">no gate</span>`
      : r.passed
        ? html`<span class="badge s-completed">✓ passed</span>`
        : html`<span class="badge s-failed">✗ failed</span>`;
  const guard =
    r.guardrails.cases === 0
      ? html`<span class="muted">none</span>`
      : r.guardrails.failed === 0
        ? html`✓ ${r.guardrails.cases} held`
        : html`<strong>✗ ${r.guardrails.failed} of ${r.guardrails.cases} failed</strong>`;
  return html`<tr><td><a href="${`/evals/${encodeURIComponent(r.id)}`}">${when(r.startedAt)}<span class="sr-only">: report of ${r.id}</span></a></td><td>${r.model}</td><td class="num">${pct(r.agreement)}<br><span class="muted">${r.compared} compared</span></td><td>${guard}</td><td class="num">${dollars(r.costUsd)}</td><td><code>${r.datasetHash.slice(0, 12)}</code><br><span class="muted">${r.cases} cases${r.errors > 0 ? `, ${r.errors} errored` : ''}</span></td><td>${gate}</td></tr>`;
}

export interface EvalsView {
  person: PageViewer;
  runs: { workflow: string; runs: EvalRunRow[] }[];
  boundary: AutonomyReport;
  canAct: boolean;
  notice?: string | undefined;
}

/** `/evals`: stored eval runs per workflow, each linking to its report, then the autonomy boundary. */
export function evalsPage(v: EvalsView): string {
  const actions = v.canAct ? { csrf: v.person.csrf } : null;
  const without = v.runs.filter((w) => w.runs.length === 0).map((w) => w.workflow);
  return consolePage({
    title: 'Evals',
    person: v.person,
    section: 'evals',
    body: html`<h1>Evals and the autonomy boundary</h1>
${v.notice && html`<div class="card notice" role="status"><p>${v.notice}</p></div>`}
<p>Runs of <code>countersign eval</code>, newest first. Open one for its full report: scores, charts, guardrail cases and each disagreement side by side.</p>
<h2>Eval runs</h2>
${v.runs
  .filter((w) => w.runs.length > 0)
  .map(
    (w) =>
      html`<h3>${w.workflow}</h3><table><caption class="sr-only">${`Eval runs of ${w.workflow}`}</caption><thead><tr><th scope="col">Date</th><th scope="col">Model</th><th scope="col" class="num">Agreement</th><th scope="col">Guardrails</th><th scope="col" class="num">Cost</th><th scope="col">Dataset</th><th scope="col">Gate</th></tr></thead><tbody>${w.runs.map(runRow)}</tbody></table>`,
  )}
${
  without.length > 0 &&
  html`<p class="muted">No eval run stored for ${without.join(', ')}. Run <code>countersign eval &lt;workflow&gt;</code> to add one.</p>`
}
<h2>Autonomy boundary</h2>
${!v.canAct && html`<p class="muted">Only an admin may apply a recommendation or revoke a grant.</p>`}
${boundarySection(v.boundary, actions)}`,
  });
}
