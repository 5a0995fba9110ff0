import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { evalRunModel } from '../src/evals/store.js';
import { type EvalCase, type EvalRun, evalCaseSchema } from '../src/evals/types.js';
import { APPROVER, hasPendingCheckpoint, startTestApp, type TestApp } from './support/app.js';
import { artifactPath } from './support/chromium.js';
import { countersign } from './support/cli.js';
import { screenshotReport } from './support/report-browser.js';

/**
 * `countersign eval` as an operator runs it: the real app (store, Redis, the offline model over HTTP) on the test's
 * own database, the sample business data the agents' tools read, and the files it writes.
 */
describe('countersign eval', () => {
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp({ label: 'evalcli' });
    dir = await mkdtemp(join(tmpdir(), 'countersign-eval-'));
  });
  afterAll(async () => {
    await t?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses bad usage with one line and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['eval'], /^countersign eval: eval needs a workflow name\n$/],
      [['eval', 'card-dispute', '--max-regression', 'lots'], /--max-regression expects a share between 0 and 1/],
      [['eval', 'card-dispute', '--concurrency', '0'], /--concurrency expects a whole number from 1 to 64, not "0"/],
      [['eval', 'card-dispute', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['eval', 'card-dispute', '--dataset', join(dir, 'missing.jsonl')], /--dataset .*missing.jsonl: no such file/],
      [['eval', 'no-such-flow'], /unknown workflow "no-such-flow" \(with eval cases: card-dispute, refund-request\)/],
      [['eval', 'email-intake'], /email-intake has no eval cases of its own: pass --dataset/],
    ];
    for (const [args, message] of cases) {
      const { code, stderr, stdout } = await countersign(args, t.env);
      expect(stderr, args.join(' ')).toMatch(message);
      expect(stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(stdout).toBe('');
      expect(code, args.join(' ')).toBe(2);
    }
  });

  it('names every bad line of a dataset and runs nothing', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, ['{"id":"x","workflow":"card-dispute"}', 'oops'].join('\n'));
    const { code, stderr } = await countersign(['eval', 'card-dispute', '--dataset', file], t.env);
    expect(stderr).toContain('the dataset has problems');
    expect(stderr).toMatch(/bad.jsonl:1: input: .*; expected: /);
    expect(stderr).toMatch(/bad.jsonl:2: not JSON/);
    expect(code).toBe(2);
  });

  let firstRun: EvalRun;
  it("runs the module's cases on the offline model, prints the scores, writes the report and the results, and stores the run", async () => {
    const json = join(dir, 'run.json');
    const report = join(dir, 'report.html');
    const { code, stdout, stderr } = await countersign(
      ['eval', 'card-dispute', '--json', json, '--report', report, '--concurrency', '4'],
      t.env,
    );
    expect(stderr).toMatch(/evaluating card-dispute on \d+ cases \(disputes module cases\) with offline, 4 at a time/);
    // Not a terminal: the progress bar prints a line at each tenth of the way, the last one complete.
    expect(stderr).toMatch(/█{24} (\d+)\/\1 cases · agreement \d+\.\d% · .* tokens · \$\d\.\d{4} · took/);
    expect(code, stdout + stderr).toBe(0);
    for (const scorer of ['outcome', 'fields', 'reply-quality', 'guardrail']) expect(stdout).toContain(scorer);
    expect(stdout).toContain(`report: ${report}`);
    firstRun = JSON.parse(await readFile(json, 'utf8')) as EvalRun;
    expect(firstRun.workflow).toBe('card-dispute');
    expect(firstRun.summary.cases).toBeGreaterThanOrEqual(25);
    expect(firstRun.summary.errors).toBe(0);
    expect(firstRun.summary.guardrails.failed).toEqual([]);
    expect(Object.keys(firstRun.agentVersions).sort()).toEqual([
      'account-risk',
      'dispute-manager',
      'evidence-collector',
      'language-analyst',
    ]);
    expect(firstRun.promptVersion).toMatch(/^[0-9a-f]{12}$/);
    const html = await readFile(report, 'utf8');
    expect(html).toContain('<svg');
    expect(stdout).toContain(`stored as eval run ${firstRun.id}`);
    const stored = await evalRunModel(t.app.store).findById(firstRun.id).lean();
    expect(stored?.reportHtml).toBe(html);
    expect(stored?.promptVersion).toBe(firstRun.promptVersion);

    // The API serves what was stored: the list, the results, and the report under a policy that runs no script.
    const list = (await (await t.api('/api/evals?workflow=card-dispute')).json()) as { runs: { id: string }[] };
    expect(list.runs.map((r) => r.id)).toContain(firstRun.id);
    const page = await t.api(`/api/evals/${firstRun.id}/report`);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(await page.text()).toBe(html);
    expect((await t.api('/api/evals/eval_nope')).status).toBe(404);
    expect((await t.api('/api/evals')).status).toBe(400);
  });

  it('passes the gate against its own results and against the stored run', async () => {
    const json = join(dir, 'run.json');
    const report = ['--report', join(dir, 'again.html')];
    const again = await countersign(['eval', 'card-dispute', '--baseline', json, '--no-store', ...report], t.env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/Gate\s+PASSED/);
    const stored = await countersign(['eval', 'card-dispute', '--baseline', 'stored', '--no-store', ...report], t.env);
    expect(stored.code, stored.stdout + stored.stderr).toBe(0);
  });

  it.each([
    ['card-dispute', 'agents/disputes/evals/baseline.json'],
    ['refund-request', 'agents/refunds/evals/baseline.json'],
  ])('%s keeps the agreement of its committed baseline on the offline model', async (workflow, baseline) => {
    const report = join(dir, `${workflow}.html`);
    const { code, stdout, stderr } = await countersign(
      ['eval', workflow, '--baseline', baseline, '--no-store', '--report', report],
      t.env,
    );
    expect(code, stdout + stderr).toBe(0);
    // The report as people see it, in Chromium: the README's picture is the top of the refund-request one.
    const seen = await screenshotReport(report, artifactPath(`eval-report-${workflow}.png`), { maxHeight: 2000 });
    expect(seen.charts.filter((c) => c.visible).length).toBeGreaterThanOrEqual(3);
    expect(seen.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
    expect(seen.scriptRan).toBe(false);
  });

  it('fails the gate with exit 1 for a degraded manager, naming the cases that changed and why', async () => {
    const { code, stdout, stderr } = await countersign(
      [
        'eval',
        'card-dispute',
        '--baseline',
        'agents/disputes/evals/baseline.json',
        '--no-store',
        '--report',
        join(dir, 'degraded.html'),
      ],
      t.env,
      { entry: 'test/fixtures/degraded-main.ts' },
    );
    expect(code, stdout + stderr).toBe(1);
    expect(stdout).toMatch(/Gate\s+FAILED/);
    expect(stdout).toMatch(/guardrail case \S+ failed/);
    expect(stdout).toMatch(/agreement fell from/);
    // A changed case is listed with what it was and what it is now.
    expect(stdout).toMatch(/review \(agreed\) → (accept|reject) \(disagreed\)/);
  });

  it('exports decided checkpoints as cases, masks them on request, and evaluates the export', async () => {
    const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
    const { runId } = (await res.json()) as { runId: string };
    const run = await t.waitForRun(runId, hasPendingCheckpoint);
    const checkpoint = run.checkpoints.find((c) => c.status === 'pending');
    if (!checkpoint) throw new Error('no pending checkpoint');
    const edited = 'Dear customer, we looked again and are refunding the charge in full. Kind regards, Northwind';
    const decided = await t.api(`/api/checkpoints/${checkpoint.id}/decision`, {
      body: { decision: 'approve', edits: { outcome: 'accept', reply: edited }, actor: APPROVER },
    });
    expect(decided.status).toBe(200);

    const out = join(dir, 'export.jsonl');
    const exported = await countersign(['eval', 'export', 'card-dispute', '--out', out], t.env);
    expect(exported.stderr).toBe(`exported 1 case of card-dispute to ${out}\n`);
    expect(exported.code).toBe(0);
    const lines = (await readFile(out, 'utf8')).trim().split('\n');
    const exportedCase: EvalCase = evalCaseSchema.parse(JSON.parse(lines[0] ?? ''));
    expect(exportedCase).toMatchObject({
      workflow: 'card-dispute',
      source: 'export',
      input: expect.objectContaining({ chargeId: SAMPLE_DISPUTES.needsReview.chargeId }),
      expected: { decision: 'approve', outcome: 'accept', values: { outcome: 'accept', reply: edited } },
      recorded: { runId, decidedBy: APPROVER, channel: 'api' },
    });
    expect(Object.keys(exportedCase.recorded?.evidence ?? {})).toEqual(
      expect.arrayContaining(['evidence-collector', 'account-risk', 'language-analyst', 'dispute-manager']),
    );

    const masked = await countersign(['eval', 'export', 'card-dispute', '--mask'], t.env);
    expect(masked.code).toBe(0);
    expect(masked.stdout).not.toContain(SAMPLE_DISPUTES.needsReview.customerEmail);
    expect(masked.stdout).toMatch(/person-[0-9a-f]{8}@example\.invalid/);

    const evaluated = await countersign(
      [
        'eval',
        'card-dispute',
        '--dataset',
        out,
        '--no-store',
        '--report',
        join(dir, 'export.html'),
        '--json',
        join(dir, 'export-results.json'),
      ],
      t.env,
    );
    expect(evaluated.code, evaluated.stdout + evaluated.stderr).toBe(0);
    expect(evaluated.stderr).toContain(`on 1 case (${out})`);
    // The manager asked for review; the person settled on accept: a disagreement, said as such.
    const results = JSON.parse(await readFile(join(dir, 'export-results.json'), 'utf8')) as EvalRun;
    expect(results.cases[0]).toMatchObject({ agreed: false, error: null });
    expect(results.cases[0]?.scores.find((s) => s.scorer === 'outcome')?.detail).toBe(
      'expected accept, the AI proposed review',
    );
    expect(existsSync(join(dir, 'export.html'))).toBe(true);
  });
});
