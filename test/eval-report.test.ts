import { describe, expect, it } from 'vitest';
import { evalCharts } from '../src/evals/charts.js';
import { renderEvalReport } from '../src/evals/report-html.js';
import { summarize } from '../src/evals/summary.js';
import { evalTable } from '../src/evals/table.js';
import type { CaseResult, EvalRun } from '../src/evals/types.js';
import { evalRunFixture, FIXTURE_HOSTILE_TEXT } from './support/eval-run-fixture.js';

const DISAGREED = [
  'missing-feature-01',
  'partial-usage-02',
  'currency-confusion-03',
  'hostile-markup-04',
  'late-cancel-05',
  'guard-forged-approval',
];
const ERRORED = 'model-timeout-08';

/** A run rebuilt from changed cases, its summary recomputed as the runner would. */
function withCases(run: EvalRun, change: (c: CaseResult) => CaseResult): EvalRun {
  const cases = run.cases.map(change);
  return { ...run, cases, summary: summarize(cases, run.scorers) };
}

/** The HTML of one disagreement card, found by its case id. */
function card(report: string, id: string): string {
  const found = report.split('<article').find((part) => part.includes(`<code>${id}</code>`));
  if (!found) throw new Error(`no card for ${id}`);
  return found.slice(0, found.indexOf('</article>'));
}

describe('the terminal table', () => {
  const run = evalRunFixture();
  const table = evalTable(run);

  it('lists every scorer with how often it applied and passed', () => {
    expect(table).toMatch(/outcome\s+27\s+21\s+77\.8%/);
    expect(table).toMatch(/fields\s+25\s+19\s+76\.0%/);
    expect(table).toMatch(/reply-quality\s+25\s+19\s+76\.0%/);
    expect(table).toMatch(/guardrail\s+2\s+1\s+50\.0%/);
  });

  it('shows agreement overall and by expected outcome, and names the disagreements and errors', () => {
    expect(table).toContain('21 of 27 compared · 77.8%');
    expect(table).toMatch(/accept\s+12\s+10\s+83\.3%/);
    expect(table).toMatch(/reject\s+13\s+9\s+69\.2%/);
    for (const id of DISAGREED) expect(table).toContain(id);
    expect(table).toMatch(new RegExp(`Errors\\s+${ERRORED}`));
  });

  it('shows guardrails, the calibration table, cost, latency and tokens', () => {
    expect(table).toContain('2 cases, 1 failed: guard-forged-approval');
    expect(table).toContain('expected calibration error 0.147');
    expect(table).toMatch(/0\.9–1\.0\s+10\s+0\.94\s+100\.0%/);
    expect(table).toMatch(/0\.6–0\.7\s+1\s+0\.66\s+0\.0%/);
    expect(table).toContain('total $0.038 · per case $0.0013 · p50 $0.0014 · p90 $0.0016');
    expect(table).toContain('p50 3.5 s · p90 4.4 s · model requests 3.4 s per case, summed');
    expect(table).toContain('input 133,058 · output 14,530 · cached 10,240');
  });

  it('prints the failed gate with each failure and each changed case, before → after and why', () => {
    expect(table).toMatch(/Gate\s+FAILED: agreement 77\.8%, −6\.2 points from the baseline's 84\.0%/);
    expect(table).toContain('✗ guardrail case guard-forged-approval flipped: accept instead of reject');
    expect(table).toMatch(/guard-forged-approval\s+reject \(agreed\) → accept \(disagreed\)/);
    expect(table).toContain('why: confidence 0.47: the new instructions favour goodwill refunds');
  });

  it('fits 100 columns and colours only when asked', () => {
    for (const line of table.split('\n')) expect(line.length, line).toBeLessThanOrEqual(100);
    expect(table).not.toContain('\u001b[');
    const coloured = evalTable(run, { color: true });
    expect(coloured).toContain('\u001b[31mFAILED\u001b[39m');
    expect(coloured.replace(new RegExp(`${String.fromCharCode(27)}\\[\\d+m`, 'g'), '')).toBe(table);
  });

  it('keeps terminal control sequences in case ids out of the output', () => {
    const hostile = withCases(run, (c) =>
      c.id === 'late-cancel-05' ? { ...c, id: 'late-cancel-05\u001b[2J\u001b]0;owned\u0007' } : c,
    );
    const out = evalTable(hostile);
    expect(out).not.toContain('\u001b');
    expect(out).not.toContain('\u0007');
    expect(out).toContain('late-cancel-05 [2J ]0;owned');
  });
});

describe('the HTML report', () => {
  const run = evalRunFixture();
  let report: string;
  const rendered = async () => {
    report ??= await renderEvalReport(run);
    return report;
  };

  it('is one English page that loads nothing and runs no script', async () => {
    const page = await rendered();
    expect(page).toMatch(/^<!doctype html>\n<html lang="en">/);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
    const tags = page.match(/<[a-z][^>]*>/gi) ?? [];
    expect(
      tags.filter((tag) => /^<(script|link|img|iframe|object|embed)\b|\s(src|on\w+)=|href="(?!#)/i.test(tag)),
    ).toEqual([]);
  });

  it('heads the page with the workflow, model, date, dataset, prompt and agent versions', async () => {
    const page = await rendered();
    for (const fact of [
      'card-dispute (module disputes)',
      'gpt-4.1-mini (openai)',
      '2026-05-01 14:03:09 UTC → 2026-05-01 14:04:21 UTC',
      '1 min 13 s at concurrency 4',
      'disputes-hand-written, 28 cases, hash <code>sha256:9f2c4b7e1a0d</code>',
      '<code>pv-3e8a51c09d</code>',
      'evidence-collector <code>ev-4f1c2a</code>',
      'dispute-manager <code>mg-9b03d7</code>',
    ]) {
      expect(page).toContain(fact);
    }
  });

  it('shows the failed gate with its failures and the changed cases', async () => {
    const page = await rendered();
    expect(page).toContain("<strong>✗ Failed</strong>: agreement 77.8% against the baseline's 84.0%");
    expect(page).toContain('<li>guardrail case guard-forged-approval flipped: accept instead of reject</li>');
    expect(page).toContain(
      '<th scope="row"><code>refund-already-09</code></th><td>review (deferred)</td><td>→ accept (agreed)</td>',
    );
  });

  it('tabulates every scorer with row and column headers', async () => {
    const page = await rendered();
    expect(page).toContain('<th scope="col">Scorer</th>');
    for (const [scorer, applied, passed] of [
      ['outcome', 27, 21],
      ['reply-quality', 25, 19],
      ['guardrail', 2, 1],
    ]) {
      expect(page).toContain(
        `<th scope="row">${scorer}</th><td class="num">${applied}</td><td class="num">${passed}</td>`,
      );
    }
  });

  it('draws four charts as inline SVG images, each with a title and an aria label', async () => {
    const page = await rendered();
    const svgs = page.match(/<svg [^>]*>/g) ?? [];
    expect(svgs).toHaveLength(4);
    for (const svg of svgs) expect(svg).toMatch(/role="img" aria-label="[^"]{40,}"/);
    expect(page).toContain('<title>Agreement with people by expected outcome</title>');
    expect(page).toContain('accept: 10 of 12 agreed (83%)');
    expect(page).toContain('<title>Calibration: does confidence predict agreement?</title>');
    expect(page).toContain('perfectly calibrated');
    expect(page).toContain('n=10');
    expect(page).toContain('<title>Cost per case</title>');
    expect(page).toContain('p90 $0.0016');
    expect(page).toContain('<title>Latency per case</title>');
  });

  it('shows each disagreement, failed guardrail and errored case side by side, and no agreed case', async () => {
    const page = await rendered();
    const section = page.slice(page.indexOf('id="disagreements"'));
    for (const id of [...DISAGREED, ERRORED]) expect(section).toContain(`<code>${id}</code>`);
    expect(section).not.toContain('<code>duplicate-charge-01</code>');
    expect(section).toContain('7 of 28');
    // The failed guardrail comes first.
    expect(section.indexOf('guard-forged-approval')).toBeLessThan(section.indexOf('missing-feature-01'));

    const missing = card(page, 'missing-feature-01');
    expect(missing).toContain('<h4>Person (expected)</h4>');
    expect(missing).toContain('<h4>AI proposal</h4>');
    expect(missing).toContain('The pricing page promised the audit-log export; the person refunded goodwill.');
    expect(missing).toContain('<dt>Confidence</dt><dd>0.81</dd>');
    expect(missing).toContain('<dt>Rationale</dt><dd>Evidence points to reject');
    expect(missing).toContain('the pricing page listed the audit-log export');

    const errored = card(page, ERRORED);
    expect(errored).toContain(
      '<strong>Errored:</strong> evidence-collector: the model did not answer after 3 attempts',
    );
  });

  it('diffs the reply the person rewrote word by word, and keeps the judge’s reasons', async () => {
    const missing = card(await rendered(), 'missing-feature-01');
    expect(missing).toMatch(/<ins><span class="sr-only">added: <\/span>[^<]*Linus/);
    expect(missing).toMatch(/<del><span class="sr-only">removed: <\/span>[^<]*Team plan was active/);
    expect(missing).toMatch(/<ins><span class="sr-only">added: <\/span>[^<]*audit-log export ships next week/);
    expect(missing).toContain('<li>Does not acknowledge the missing export</li>');
    expect(missing).toContain('<li>Tone is curt</li>');
  });

  it('renders a script in a case’s input, note or judge reasons as text', async () => {
    const page = await rendered();
    expect(page).not.toContain('<script');
    const hostile = card(page, 'hostile-markup-04');
    expect(hostile).toContain(
      'Refund me now. &lt;script&gt;window.__pwned = true; alert(&quot;pwned&quot;)&lt;/script&gt; &lt;img src=x onerror=&quot;window.__pwned=1&quot;&gt;',
    );
    expect(hostile).toContain('Customer text with markup and a script: &lt;b&gt;must&lt;/b&gt; render as text.');
    expect(hostile).toContain('<li>Refunds without a reason &lt;script&gt;x&lt;/script&gt;</li>');
    expect(FIXTURE_HOSTILE_TEXT).toContain('<script>');
  });

  it('escapes markup that reaches the charts through an outcome name', async () => {
    const hostile = withCases(run, (c) =>
      c.expected.outcome === 'accept' ? { ...c, expected: { ...c.expected, outcome: '<script>alert(1)</script>' } } : c,
    );
    const page = await renderEvalReport(hostile);
    expect(page).not.toContain('<script');
    // In the chart's accessible name and in the axis label Vega draws.
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;: 10 of 12 agreed (83%)');
    expect(page).toMatch(/opacity="1">&lt;script&gt;alert\(1\)&lt;\/script&gt;<\/text>/);
  });

  it('renders the same run to the same bytes', async () => {
    expect(await renderEvalReport(evalRunFixture())).toBe(await rendered());
  });

  it('says so when there is no gate and nothing to show side by side', async () => {
    const agreed = withCases({ ...run, gate: null }, (c) => ({
      ...c,
      error: null,
      agreed: c.agreed === null ? null : true,
      scores: c.scores.map((s) => ({ ...s, pass: s.pass === null ? null : true })),
    }));
    const page = await renderEvalReport(agreed);
    expect(page).not.toContain('Regression gate');
    expect(page).toContain('None: the AI agreed with people on every compared case.');
  });
});

describe('the charts', () => {
  it('draw one bar when every case cost the same, as on the offline model', async () => {
    const run = withCases(evalRunFixture(), (c) => ({ ...c, usage: { ...c.usage, costUsd: 0 } }));
    const cost = (await evalCharts(run)).find((c) => c.id === 'cost-per-case');
    expect(cost?.description).toContain('median $0.00, 90th percentile $0.00; the most cases (28) between $0.00');
    expect(cost?.svg).toMatch(/^<svg role="img"/);
  });

  it('still render when every case errored before its decision point', async () => {
    const run = withCases(evalRunFixture(), (c) => ({
      ...c,
      capture: null,
      error: 'stopped by the cost ceiling',
      agreed: null,
      fields: {},
      scores: [],
    }));
    const charts = await evalCharts({ ...run, stoppedBy: 'the cost ceiling ($0.01)' });
    expect(charts.map((c) => c.id)).toEqual([
      'agreement-by-outcome',
      'calibration',
      'cost-per-case',
      'latency-per-case',
    ]);
    expect(charts[1]?.description).toContain('No case carried a confidence.');
    const page = await renderEvalReport({ ...run, stoppedBy: 'the cost ceiling ($0.01)' });
    expect(page).toContain('<strong>Stopped early:</strong> the cost ceiling ($0.01)');
    expect(evalTable(run)).toContain('28 errors');
  });
});
