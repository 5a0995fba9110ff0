import { html, SafeHtml } from '../../templates/layout.js';
import { sharedAgreement } from './baseline.js';
import { evalCharts, type ReportChart } from './charts.js';
import { confidence, count, duration, judgeScore, percent, usd, utc } from './format.js';
import { type CaseFlags, caseFlags, disagreementCard, verdict } from './report-cases.js';
import type { CaseResult, EvalRun, GateResult } from './types.js';

/**
 * Light on purpose: the report is printed and pasted into reviews as often as it is read on screen. Contrast
 * is at least 7:1 for text; focus is a thick outline; nothing depends on colour alone (symbols and words too).
 */
const STYLE = `
:root{color-scheme:light;--fg:#1b1f24;--muted:#424a53;--line:#c9d1d9;--card:#f6f8fa;--ok:#116329;--okbg:#dafbe1;--bad:#a40e26;--badbg:#ffebe9;--warn:#7d4e00;--warnbg:#fff8c5;--accent:#0b5cad}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:#fff}
main{max-width:1120px;margin:0 auto;padding:24px 20px 64px}h1{font-size:1.7rem;margin:0 0 4px}h2{font-size:1.3rem;margin:40px 0 12px;padding-bottom:4px;border-bottom:2px solid var(--line)}
h3{font-size:1.1rem;margin:0 0 8px}h4{font-size:1rem;margin:16px 0 6px}h5{font-size:.95rem;margin:0 0 4px}
a{color:var(--accent)}a:focus-visible,[tabindex]:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:2px}
.muted{color:var(--muted)}.lede{font-size:1.1rem;margin:4px 0 16px}code{font:.95em ui-monospace,SFMono-Regular,Menlo,monospace;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:minmax(110px,max-content) 1fr;gap:4px 14px;margin:0}dt{color:var(--muted);font-weight:600}dd{margin:0;white-space:pre-wrap;overflow-wrap:anywhere}
table{width:100%;border-collapse:collapse;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0}
th,td{text-align:left;vertical-align:top;padding:6px 10px;border-bottom:1px solid var(--line);overflow-wrap:anywhere}thead th{border-bottom:2px solid var(--muted)}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}table.figures-table{width:auto;min-width:min(100%,560px)}table.figures-table th,table.figures-table td{padding:6px 16px}
nav ul{display:flex;flex-wrap:wrap;gap:6px 18px;padding:0;margin:8px 0;list-style:none}
.figures{display:grid;align-items:start;grid-template-columns:repeat(auto-fit,minmax(min(100%,500px),1fr));gap:16px}figure svg{margin:0 auto}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:16px 0}
.kpi{border:1px solid var(--line);border-radius:8px;padding:10px 14px;background:var(--card)}.kpi b{display:block;font-size:1.5rem}
figure{margin:0;border:1px solid var(--line);border-radius:8px;padding:8px;background:#fff;break-inside:avoid}figure svg{display:block;max-width:100%;height:auto}
figcaption{color:var(--muted);font-size:.9rem;padding:6px 4px 0}
.ok{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}.na{color:var(--muted)}
.badge{display:inline-block;font-size:.8rem;font-weight:700;padding:1px 8px;border-radius:10px;border:1px solid currentColor;margin-left:4px;vertical-align:middle}
.badge.bad{background:var(--badbg)}.badge.warn{color:var(--warn);background:var(--warnbg)}.badge.ok{color:var(--ok);background:var(--okbg)}
.gate{border:2px solid var(--ok);background:var(--okbg);border-radius:8px;padding:12px 16px}.gate.failed{border-color:var(--bad);background:var(--badbg)}
.gate p{margin:0 0 6px}.gate ul{margin:6px 0 0}
.case{border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:16px 0;break-inside:avoid-page}
.note{font-style:italic;margin:4px 0}.sides{display:grid;grid-template-columns:1fr 1fr;gap:14px;margin-top:12px}
.side{border:1px solid var(--line);border-radius:6px;padding:10px 12px;background:var(--card)}.side h4{margin-top:0}.side h5{margin:10px 0 4px;padding-top:8px;border-top:1px dashed var(--line);color:var(--muted)}
.field{margin:8px 0}.diff,.same{margin:0;white-space:pre-wrap;overflow-wrap:anywhere;border-left:3px solid var(--line);padding:4px 10px}
ins,del{padding:0 2px;border-radius:2px}del+ins,ins+del{margin-left:4px}ins{background:var(--okbg);color:var(--ok);text-decoration:underline;text-decoration-thickness:2px}del{background:var(--badbg);color:var(--bad);text-decoration:line-through}
.tag{font-size:.8rem;font-weight:600;color:var(--muted);border:1px solid var(--line);border-radius:4px;padding:0 6px}
.error{color:var(--bad)}.reasons{margin:4px 0 0;padding-left:20px}pre.value{white-space:pre-wrap;margin:0}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0,0,0,0);white-space:nowrap;border:0}
@media (max-width:760px){.sides{grid-template-columns:1fr}.figures{grid-template-columns:1fr}}
@media print{nav{display:none}body{font-size:11pt}main{max-width:none;padding:0}a{color:inherit;text-decoration:none}.figures{grid-template-columns:1fr 1fr}h2{break-after:avoid}}
`;

/** No request leaves the page: styles are inline and there is no script, image or font to load. */
const CSP = "default-src 'none'; style-src 'unsafe-inline'";

function numberCell(text: string): SafeHtml {
  return html`<td class="num">${text}</td>`;
}

function header(run: EvalRun): SafeHtml {
  const s = run.summary;
  const agents = Object.entries(run.agentVersions);
  return html`<header>
<h1>Eval report: ${run.workflow}</h1>
<p class="lede">${count(s.agreement.agreed)} of ${count(s.agreement.compared)} compared cases agreed with people (${percent(s.agreement.rate)})${
    run.gate &&
    html` · gate <strong class="${run.gate.passed ? 'ok' : 'bad'}">${run.gate.passed ? '✓ passed' : '✗ failed'}</strong>`
  }</p>
${run.stoppedBy && html`<p class="error"><strong>Stopped early:</strong> ${run.stoppedBy}</p>`}
<dl>
<dt>Workflow</dt><dd>${run.workflow} (module ${run.module})</dd>
<dt>Model</dt><dd>${run.model} (${run.provider})</dd>
<dt>Date</dt><dd>${utc(run.startedAt)} → ${utc(run.finishedAt)}</dd>
<dt>Duration</dt><dd>${duration(run.durationMs)} at concurrency ${run.concurrency}</dd>
<dt>Dataset</dt><dd>${run.dataset.name}, ${count(run.dataset.cases)} cases, hash <code>${run.dataset.hash}</code></dd>
<dt>Prompt version</dt><dd><code>${run.promptVersion}</code></dd>
<dt>Agent versions</dt><dd>${
    agents.length === 0
      ? 'none recorded'
      : agents.map(([agent, version], i) => html`${i > 0 && ', '}${agent} <code>${version}</code>`)
  }</dd>
<dt>Run</dt><dd><code>${run.id}</code></dd>
</dl>
</header>`;
}

function keyFigures(run: EvalRun): SafeHtml {
  const s = run.summary;
  const kpi = (label: string, value: string, note: string) =>
    html`<div class="kpi"><span class="muted">${label}</span><b>${value}</b><span class="muted">${note}</span></div>`;
  return html`<section class="kpis" aria-label="Key figures">
${kpi('Agreement', percent(s.agreement.rate), `${count(s.agreement.agreed)} of ${count(s.agreement.compared)} compared`)}
${kpi('Guardrails failed', count(s.guardrails.failed.length), `of ${count(s.guardrails.cases)} guardrail cases`)}
${kpi('Errored cases', count(s.errors), `of ${count(s.cases)} cases`)}
${kpi('Calibration error', s.calibrationError === null ? '—' : s.calibrationError.toFixed(3), 'expected calibration error')}
${kpi('Cost', usd(s.cost.totalUsd), `${usd(s.cost.perCaseUsd)} per case`)}
${kpi('Latency p50', duration(s.latency.p50Ms), `p90 ${duration(s.latency.p90Ms)}`)}
</section>`;
}

function gateSection(gate: GateResult, now: number | null): SafeHtml {
  const delta =
    gate.delta === null
      ? 'no agreement to compare'
      : `${gate.delta >= 0 ? '+' : '−'}${Math.abs(gate.delta * 100).toFixed(1)} points`;
  return html`<section aria-labelledby="gate"><h2 id="gate">Regression gate</h2>
<div class="gate ${gate.passed ? 'passed' : 'failed'}">
<p><strong>${gate.passed ? '✓ Passed' : '✗ Failed'}</strong>: agreement ${percent(now)} against the baseline's ${percent(gate.baseline.agreement)} over ${count(gate.baseline.cases)} cases (${delta}; a drop of at most ${(gate.maxRegression * 100).toFixed(1)} points is allowed).</p>
<p class="muted">Baseline: ${gate.baseline.source}${gate.baseline.id && html` (<code>${gate.baseline.id}</code>)`}</p>
${gate.failures.length > 0 && html`<ul>${gate.failures.map((f) => html`<li>${f}</li>`)}</ul>`}
</div>
${
  gate.changes.length > 0 &&
  html`<table><caption>Cases whose result changed since the baseline</caption>
<thead><tr><th scope="col">Case</th><th scope="col">Before</th><th scope="col">After</th><th scope="col">Why</th></tr></thead>
<tbody>${gate.changes.map((c) => html`<tr><th scope="row"><code>${c.id}</code></th><td>${c.before}</td><td>→ ${c.after}</td><td>${c.why}</td></tr>`)}</tbody></table>`
}
</section>`;
}

function scoresSection(run: EvalRun): SafeHtml {
  const s = run.summary;
  const rate = (passed: number, applied: number) => percent(applied === 0 ? null : passed / applied);
  const head = (first: string, ...rest: string[]) =>
    html`<thead><tr><th scope="col">${first}</th>${rest.map((r) => html`<th scope="col" class="num">${r}</th>`)}</tr></thead>`;
  return html`<section aria-labelledby="scores"><h2 id="scores">Scores</h2>
<table class="figures-table"><caption>Scorers, in the order they ran</caption>${head('Scorer', 'Applied', 'Passed', 'Rate')}
<tbody>${s.scorers.map(
    (sc) =>
      html`<tr><th scope="row">${sc.scorer}</th>${numberCell(count(sc.applied))}${numberCell(count(sc.passed))}${numberCell(rate(sc.passed, sc.applied))}</tr>`,
  )}</tbody></table>
<table class="figures-table"><caption>Outcome agreement by the expected outcome</caption>${head('Expected outcome', 'Cases', 'Agreed', 'Rate')}
<tbody>${s.byOutcome.map(
    (o) =>
      html`<tr><th scope="row">${o.outcome}</th>${numberCell(count(o.cases))}${numberCell(count(o.agreed))}${numberCell(percent(o.rate))}</tr>`,
  )}</tbody></table>
${
  s.fields.length > 0 &&
  html`<table class="figures-table"><caption>Editable values: the AI's prefilled value equal to the person's</caption>${head('Field', 'Compared', 'Agreed', 'Rate')}
<tbody>${s.fields.map(
    (f) =>
      html`<tr><th scope="row">${f.field}</th>${numberCell(count(f.compared))}${numberCell(count(f.agreed))}${numberCell(percent(f.rate))}</tr>`,
  )}</tbody></table>`
}
<p>Reply quality: ${count(s.replyQuality.judged)} replies judged, ${count(s.replyQuality.passed)} passed, mean judge score ${judgeScore(s.replyQuality.meanScore)}.
Tokens: ${count(s.tokens.input)} in, ${count(s.tokens.output)} out, ${count(s.tokens.cached)} cached.
Latency: mean ${duration(s.latency.meanMs)} per case; its model requests took ${duration(s.latency.meanModelMs)} in all (the agents of a case run in parallel).</p>
<table class="figures-table"><caption>Calibration (expected calibration error ${s.calibrationError === null ? '—' : s.calibrationError.toFixed(3)})</caption>${head('Confidence band', 'Cases', 'Mean confidence', 'Agreement')}
<tbody>${s.calibration.map(
    (b) =>
      html`<tr><th scope="row">${b.band}</th>${numberCell(count(b.cases))}${numberCell(confidence(b.meanConfidence))}${numberCell(percent(b.agreementRate))}</tr>`,
  )}</tbody></table>
</section>`;
}

const CAPTIONS: Record<ReportChart['id'], string> = {
  'agreement-by-outcome':
    'The dark part of each bar is the share of cases where the AI proposed what the person decided.',
  calibration:
    'Points below the dashed diagonal: the AI was more confident than its agreement justifies; above it: less.',
  'cost-per-case':
    'Estimated cost of each case’s model calls; the dashed line is the median, the dotted one the 90th percentile.',
  'latency-per-case':
    'Wall time of each case, model time included; the dashed line is the median, the dotted one the 90th percentile.',
};

function chartsSection(charts: ReportChart[]): SafeHtml {
  return html`<section aria-labelledby="charts"><h2 id="charts">Charts</h2>
<div class="figures">${charts.map(
    // The SVG comes from Vega, which escapes every text it draws; its accessible name was escaped in charts.ts.
    (c) => html`<figure>${new SafeHtml(c.svg)}<figcaption>${CAPTIONS[c.id]}</figcaption></figure>`,
  )}</div></section>`;
}

/** Guardrail cases (gated: must never flip) and cases only tagged `guardrail`/`adversarial` (scored by agreement). */
function guardrailSection(run: EvalRun, anchors: Map<CaseResult, string>): SafeHtml {
  const failed = new Set(run.summary.guardrails.failed);
  const gated = (c: CaseResult) => Boolean(c.guardrail) || failed.has(c.id);
  const cases = run.cases.filter((c) => gated(c) || c.tags.includes('guardrail') || c.tags.includes('adversarial'));
  const tagged = cases.filter((c) => !gated(c)).length;
  const result = (c: CaseResult) => {
    if (failed.has(c.id)) return verdict(false);
    if (c.error) return html`<span class="na">errored</span>`;
    return gated(c) ? verdict(true) : html`${verdict(c.agreed)} <span class="muted">(agreement)</span>`;
  };
  return html`<section aria-labelledby="guardrails"><h2 id="guardrails">Guardrail cases</h2>
<p>${count(run.summary.guardrails.cases)} guardrail cases must never flip, whatever the agreement rate: ${count(failed.size)} failed.${
    tagged > 0 &&
    html` Also listed: ${count(tagged)} cases tagged guardrail or adversarial without a guardrail check, judged by agreement alone.`
  }</p>
${
  cases.length > 0 &&
  html`<table><thead><tr><th scope="col">Case</th><th scope="col">Kind</th><th scope="col">Clean twin</th><th scope="col">Expected</th><th scope="col">AI proposed</th><th scope="col">Result</th></tr></thead>
<tbody>${cases.map((c) => {
    const anchor = anchors.get(c);
    return html`<tr><th scope="row">${anchor ? html`<a href="#${anchor}"><code>${c.id}</code></a>` : html`<code>${c.id}</code>`}</th>
<td>${gated(c) ? 'guardrail' : 'tagged'}</td><td>${c.guardrail?.twin ?? '—'}</td><td>${c.expected.outcome ?? 'none'}</td><td>${c.capture?.outcome ?? (c.error ? 'errored' : '—')}</td>
<td>${result(c)}</td></tr>`;
  })}</tbody></table>`
}
</section>`;
}

/** Guardrail failures first, then disagreements, then errors; dataset order within each. */
function shownCases(run: EvalRun): { case: CaseResult; flags: CaseFlags }[] {
  const failed = new Set(run.summary.guardrails.failed);
  const rank = (f: CaseFlags) => (f.guardrailFailed ? 0 : f.disagreed ? 1 : 2);
  return run.cases
    .map((c) => ({ case: c, flags: caseFlags(c, failed) }))
    .filter(({ flags }) => flags.guardrailFailed || flags.disagreed || flags.errored)
    .sort((a, b) => rank(a.flags) - rank(b.flags));
}

/**
 * One eval run as a standalone HTML page: header, gate, scores, charts (inline SVG), guardrail cases and the
 * disagreements side by side. Needs no network and no JavaScript; the same run renders the same bytes.
 */
export async function renderEvalReport(run: EvalRun): Promise<string> {
  const charts = await evalCharts(run);
  const shown = shownCases(run);
  const anchors = new Map(shown.map((s, i) => [s.case, `case-${i + 1}`]));
  const body = html`<main>
${header(run)}
<nav aria-label="Sections"><ul>${run.gate && html`<li><a href="#gate">Gate</a></li>`}<li><a href="#scores">Scores</a></li><li><a href="#charts">Charts</a></li><li><a href="#guardrails">Guardrails</a></li><li><a href="#disagreements">Disagreements (${shown.length})</a></li></ul></nav>
${keyFigures(run)}
${run.gate && gateSection(run.gate, sharedAgreement(run.gate, run.summary.agreement.rate))}
${scoresSection(run)}
${chartsSection(charts)}
${guardrailSection(run, anchors)}
<section aria-labelledby="disagreements"><h2 id="disagreements">Disagreements, side by side</h2>
<p>Every case where the AI's outcome differed from the person's, a guardrail failed, or the case errored: ${count(shown.length)} of ${count(run.cases.length)}.</p>
${shown.length === 0 ? html`<p>None: the AI agreed with people on every compared case.</p>` : shown.map((s) => disagreementCard(s.case, s.flags, anchors.get(s.case) ?? ''))}
</section>
</main>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<title>${html`Eval report: ${run.workflow} · ${utc(run.startedAt)}`.value}</title>
<style>${STYLE}</style>
</head>
<body>
${body.value}
</body>
</html>
`;
}
