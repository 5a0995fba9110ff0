import { diffWords } from 'diff';
import { html, type SafeHtml } from '../../templates/layout.js';
import { confidence } from './format.js';
import type { CaseResult } from './types.js';

/**
 * The disagreements, side by side: what the person decided beside what the AI proposed, a word-level diff of
 * each editable value, and the scorers' verdicts with the judge's reasons. Everything here comes from cases
 * (customer text, model output), so it reaches the page only through `html`, which escapes it.
 */

const LONG_TEXT = 1_200;
const MAX_INPUT_FIELDS = 14;

/** Why a case is shown among the disagreements; a case can have several reasons. */
export interface CaseFlags {
  guardrailFailed: boolean;
  disagreed: boolean;
  errored: boolean;
}

export function caseFlags(c: CaseResult, failedGuardrails: ReadonlySet<string>): CaseFlags {
  return {
    guardrailFailed: failedGuardrails.has(c.id),
    disagreed: c.agreed === false,
    errored: c.error !== null,
  };
}

function shorten(text: string, limit = LONG_TEXT): string {
  return text.length <= limit ? text : `${text.slice(0, limit)}… (${text.length - limit} more characters)`;
}

function valueText(value: unknown): string {
  if (value === undefined) return '—';
  if (typeof value === 'string') return value;
  return JSON.stringify(value) ?? String(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function definitionList(entries: [string, unknown][], className: string): SafeHtml {
  return html`<dl class="${className}">${entries.map(
    ([key, value]) => html`<dt>${key}</dt><dd>${shorten(valueText(value))}</dd>`,
  )}</dl>`;
}

/** The workflow input as a list of its top-level fields (the case's own shape, whatever the workflow). */
function inputSummary(input: unknown): SafeHtml {
  if (!isRecord(input)) return html`<pre class="value">${shorten(valueText(input))}</pre>`;
  const entries = Object.entries(input);
  const more = entries.length - MAX_INPUT_FIELDS;
  return html`${definitionList(entries.slice(0, MAX_INPUT_FIELDS), 'input')}${
    more > 0 && html`<p class="muted">and ${more} more fields</p>`
  }`;
}

/**
 * The AI's prefilled value against the person's, word by word: `del` for what the person removed, `ins` for
 * what they wrote. The words "removed"/"added" are in the markup for screen readers and for readers without colour.
 */
function wordDiff(before: string, after: string): SafeHtml {
  return html`<p class="diff">${diffWords(before, after).map((part) => {
    if (part.added) return html`<ins><span class="sr-only">added: </span>${part.value}</ins>`;
    if (part.removed) return html`<del><span class="sr-only">removed: </span>${part.value}</del>`;
    return part.value;
  })}</p>`;
}

function fieldDiffs(c: CaseResult): SafeHtml {
  const fields = Object.keys(c.expected.values);
  if (fields.length === 0)
    return html`<p class="muted">The person kept no values to compare (they rejected the checkpoint).</p>`;
  if (!c.capture) return html`<p class="muted">No proposal to compare: the case errored before its decision point.</p>`;
  const prefilled = c.capture.values;
  return html`<div class="fields">${fields.map((field) => {
    const ai = prefilled[field];
    const person = c.expected.values[field];
    const same = JSON.stringify(ai) === JSON.stringify(person);
    const body = same
      ? html`<p class="same"><span aria-hidden="true">= </span>unchanged: ${shorten(valueText(person))}</p>`
      : typeof ai === 'string' && typeof person === 'string'
        ? wordDiff(ai, person)
        : html`<p class="diff"><del><span class="sr-only">AI: </span>${valueText(ai)}</del> → <ins><span class="sr-only">person: </span>${valueText(person)}</ins></p>`;
    return html`<div class="field"><h5>${field} ${same ? '' : html`<span class="tag">edited</span>`}</h5>${body}</div>`;
  })}</div>`;
}

function scoreRows(c: CaseResult): SafeHtml {
  if (c.scores.length === 0) return html`<p class="muted">No scorer ran.</p>`;
  return html`<table class="scores">
<thead><tr><th scope="col">Scorer</th><th scope="col">Result</th><th scope="col">Detail and judge's reasons</th></tr></thead>
<tbody>${c.scores.map(
    (s) =>
      html`<tr><th scope="row">${s.scorer}</th><td>${verdict(s.pass)}${
        s.score !== null && html` <span class="muted">(${s.score.toFixed(2)})</span>`
      }</td><td>${s.detail}${
        s.reasons && s.reasons.length > 0 && html`<ul class="reasons">${s.reasons.map((r) => html`<li>${r}</li>`)}</ul>`
      }</td></tr>`,
  )}</tbody></table>`;
}

/** Pass, fail or not applicable, said in words and a symbol rather than by colour. */
export function verdict(pass: boolean | null): SafeHtml {
  if (pass === null) return html`<span class="na">n/a</span>`;
  return pass
    ? html`<span class="ok"><span aria-hidden="true">✓ </span>passed</span>`
    : html`<span class="bad"><span aria-hidden="true">✗ </span>failed</span>`;
}

function badges(flags: CaseFlags): SafeHtml {
  return html`${flags.guardrailFailed && html`<span class="badge bad">guardrail failed</span>`}${
    flags.disagreed && html`<span class="badge bad">disagreed</span>`
  }${flags.errored && html`<span class="badge warn">errored</span>`}`;
}

function personSide(c: CaseResult): SafeHtml {
  const values = Object.entries(c.expected.values);
  return html`<div class="side person">
<h4>Person (expected)</h4>
<dl><dt>Decision</dt><dd>${c.expected.decision}</dd><dt>Outcome</dt><dd>${c.expected.outcome ?? 'none: the person rejected the checkpoint'}</dd></dl>
<h5>Values as approved</h5>
${values.length > 0 ? definitionList(values, 'values') : html`<p class="muted">None: the checkpoint was rejected.</p>`}
</div>`;
}

function aiSide(c: CaseResult): SafeHtml {
  const p = c.capture;
  if (!p) {
    return html`<div class="side ai">
<h4>AI proposal</h4><p class="error"><strong>Errored:</strong> ${c.error ?? 'no proposal was captured'}</p></div>`;
  }
  const autoDecide = p.wouldAutoDecide === null ? 'no verdict' : p.wouldAutoDecide ? 'yes' : 'no, it would ask';
  return html`<div class="side ai">
<h4>AI proposal</h4>
<dl><dt>Outcome</dt><dd>${p.outcome ?? 'none stated'}${p.proposed === null ? ' (deferred to a person)' : ''}</dd>
<dt>Confidence</dt><dd>${confidence(p.confidence)}</dd>
<dt>Rationale</dt><dd>${p.rationale ?? '—'}</dd>
<dt>Would decide alone</dt><dd>${autoDecide}</dd>
<dt>Checkpoint</dt><dd>${p.checkpoint}</dd></dl>
<h5>Values as prefilled</h5>
${definitionList(Object.entries(p.values), 'values')}
${c.error && html`<p class="error"><strong>Error:</strong> ${c.error}</p>`}
</div>`;
}

/** One disagreement, anchored as `#case-<n>` (the case id itself is untrusted, so never an HTML id). */
export function disagreementCard(c: CaseResult, flags: CaseFlags, anchor: string): SafeHtml {
  const context = [
    c.source,
    ...c.tags,
    ...(c.slice ? [`band ${c.slice.confidenceBand}`, `amount ${c.slice.amountBand}`] : []),
  ];
  return html`<article class="case" id="${anchor}" aria-labelledby="${anchor}-title">
<h3 id="${anchor}-title"><code>${c.id}</code> ${badges(flags)}</h3>
<p><strong>Person:</strong> ${c.expected.decision}, ${c.expected.outcome ?? 'no outcome'} · <strong>AI:</strong> ${
    c.capture ? `${c.capture.outcome ?? 'no outcome'}, confidence ${confidence(c.capture.confidence)}` : 'errored'
  }</p>
${c.note && html`<p class="note">${c.note}</p>`}
<p class="muted">${context.join(' · ')}</p>
<h4>Input</h4>
${inputSummary(c.input)}
<div class="sides">${personSide(c)}${aiSide(c)}</div>
<h4>What the person changed (AI's prefilled value → person's edit)</h4>
${fieldDiffs(c)}
<h4>Scores</h4>
${scoreRows(c)}
</article>`;
}
