import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { AgentRunner } from '../agents/define.js';
import type { EngineStore } from '../engine/store-port.js';
import type { EvalTarget } from '../modules/catalogue.js';
import type { Store } from '../store/models.js';
import { type Baseline, baselineFile, baselineFromRun, gate, parseBaseline } from './baseline.js';
import { datasetHash, parseDataset, suiteCases, writeDataset } from './dataset.js';
import { exportCases } from './export.js';
import { createReplyJudge } from './judge.js';
import { progressReporter } from './progress.js';
import { renderEvalReport } from './report-html.js';
import { runEval } from './run.js';
import { latestEvalRun, saveEvalRun } from './store.js';
import { evalTable } from './table.js';
import type { CaseSlice, EvalCase } from './types.js';

/** What `countersign eval` needs of a built app (src/app.ts `App.evals`). */
export interface EvalHost {
  store: Store;
  /** The runs' journals (agent results and versions), for `eval export`. */
  journals: Pick<EngineStore, 'loadJournals'>;
  /** Every registered workflow with its module and eval suite (empty cases when the module declares none). */
  target(workflow: string): EvalTarget | undefined;
  /** Workflow names that have eval cases of their own. */
  suiteNames(): string[];
  /** The agent runtime bound to `model` (`name` on the default provider, or `provider:name`); errors name the problem. */
  runnerFor(model: string | undefined): { runner: AgentRunner; model: string; provider: string } | { problem: string };
  sliceOf(facts: { outcome: string; confidence: number | null; amount: number | null }): CaseSlice;
  close(): Promise<void>;
}

export interface EvalIo {
  out: { write(s: string): unknown; isTTY?: boolean };
  err: { write(s: string): unknown; isTTY?: boolean };
  cwd: string;
}

const EVAL_USAGE = `usage: countersign eval <workflow> [--dataset F] [--model M] [--baseline F|stored] [--max-regression X]
                        [--concurrency N] [--max-cost USD] [--json F] [--report F] [--save-baseline F] [--no-store]
       countersign eval export <workflow> [--since YYYY-MM-DD] [--out F] [--mask]`;

/** Bad usage: one line naming the problem, exit 2. */
class Usage extends Error {}

const DEFAULT_MAX_REGRESSION = 0.02;
const DEFAULT_CONCURRENCY = 4;

function ratio(raw: string, flag: string): number {
  const percent = raw.endsWith('%');
  const n = Number(percent ? raw.slice(0, -1) : raw);
  const value = percent ? n / 100 : n;
  if (!Number.isFinite(value) || value < 0 || value > 1)
    throw new Usage(`${flag} expects a share between 0 and 1 (0.02) or a percentage (2%), not "${raw}"`);
  return value;
}

function positiveInt(raw: string, flag: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new Usage(`${flag} expects a whole number from 1 to ${max}, not "${raw}"`);
  return n;
}

function parse(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        dataset: { type: 'string' },
        model: { type: 'string' },
        baseline: { type: 'string' },
        'max-regression': { type: 'string' },
        concurrency: { type: 'string' },
        'max-cost': { type: 'string' },
        json: { type: 'string' },
        'save-baseline': { type: 'string' },
        report: { type: 'string' },
        'no-store': { type: 'boolean' },
        since: { type: 'string' },
        out: { type: 'string' },
        mask: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    // node's messages name the option ("Unknown option '--foo'"); keep only the first sentence.
    throw new Usage((err as Error).message.split('. ')[0] ?? 'bad arguments');
  }
}

/** `countersign eval …` and `countersign eval export …`; returns the exit code (0 pass, 1 gate failed, 2 usage). */
export async function evalCommand(
  args: string[],
  connect: () => Promise<EvalHost | number>,
  io: EvalIo,
): Promise<number> {
  let host: EvalHost | number | undefined;
  try {
    const { values, positionals } = parse(args);
    if (values.help) {
      io.out.write(`${EVAL_USAGE}\n`);
      return 0;
    }
    const exporting = positionals[0] === 'export';
    const workflow = exporting ? positionals[1] : positionals[0];
    if (!workflow) throw new Usage(exporting ? 'eval export needs a workflow name' : 'eval needs a workflow name');
    if (positionals.length > (exporting ? 2 : 1)) throw new Usage(`unexpected argument "${positionals.at(-1)}"`);
    const since = values.since ? new Date(values.since) : undefined;
    if (since && Number.isNaN(since.getTime()))
      throw new Usage(`--since expects a date (YYYY-MM-DD), not "${values.since}"`);
    const maxRegression = values['max-regression']
      ? ratio(values['max-regression'], '--max-regression')
      : DEFAULT_MAX_REGRESSION;
    const concurrency = values.concurrency ? positiveInt(values.concurrency, '--concurrency', 64) : DEFAULT_CONCURRENCY;
    const maxCost = values['max-cost'] ? Number(values['max-cost']) : undefined;
    if (maxCost !== undefined && !(maxCost > 0))
      throw new Usage(`--max-cost expects a positive amount in USD, not "${values['max-cost']}"`);
    // Read local files before connecting: a typo in a path is the quickest thing to report.
    const datasetText = values.dataset ? await readLocal(io.cwd, values.dataset, '--dataset') : undefined;
    const baselineText =
      values.baseline && values.baseline !== 'stored'
        ? await readLocal(io.cwd, values.baseline, '--baseline')
        : undefined;

    host = await connect();
    if (typeof host === 'number') return host;
    const target = host.target(workflow);
    if (!target) {
      const known = host.suiteNames();
      throw new Usage(
        `unknown workflow "${workflow}"${known.length > 0 ? ` (with eval cases: ${known.join(', ')})` : ''}`,
      );
    }
    if (exporting) {
      const cases = await exportCases(host.store, host.journals, {
        workflow,
        ...(since ? { since } : {}),
        mask: values.mask === true,
      });
      const text = writeDataset(cases);
      if (values.out) {
        await writeLocal(io.cwd, values.out, text);
        io.err.write(`exported ${cases.length} case${cases.length === 1 ? '' : 's'} of ${workflow} to ${values.out}\n`);
      } else io.out.write(text);
      return 0;
    }

    let cases: EvalCase[];
    let datasetName: string;
    if (datasetText !== undefined && values.dataset) {
      const parsed = parseDataset(datasetText, values.dataset, workflow);
      if (!parsed.ok) {
        io.err.write(`countersign eval: the dataset has problems\n${parsed.problems.map((p) => `  ${p}\n`).join('')}`);
        return 2;
      }
      cases = parsed.cases;
      datasetName = values.dataset;
    } else {
      if (target.suite.cases.length === 0) throw new Usage(`${workflow} has no eval cases of its own: pass --dataset`);
      cases = suiteCases(target.suite.cases, workflow, target.module);
      datasetName = `${target.module} module cases`;
    }
    let baseline: Baseline | null = null;
    if (baselineText !== undefined && values.baseline) {
      const parsed = parseBaseline(baselineText, values.baseline);
      if (!parsed.ok) throw new Usage(parsed.problem);
      baseline = parsed.baseline;
    } else if (values.baseline === 'stored') {
      const stored = await latestEvalRun(host.store, workflow, { passed: true, datasetHash: datasetHash(cases) });
      if (!stored)
        throw new Usage(
          `no stored eval run of ${workflow} on these cases passed its gate to compare with (run once without --baseline)`,
        );
      baseline = baselineFromRun(stored);
    }
    const model = host.runnerFor(values.model);
    if ('problem' in model) throw new Usage(model.problem);

    io.err.write(
      `evaluating ${workflow} on ${cases.length} case${cases.length === 1 ? '' : 's'} (${datasetName}) with ${model.provider === 'default' ? '' : `${model.provider}:`}${model.model}, ${concurrency} at a time\n`,
    );
    const progress = progressReporter(io.err);
    const { runner } = model;
    const run = await runEval(
      {
        runner,
        judgeFor: createReplyJudge,
        now: () => new Date(),
        clockMs: () => performance.now(),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
      {
        target,
        cases,
        dataset: { name: datasetName, hash: datasetHash(cases) },
        model: { name: model.model, provider: model.provider },
        concurrency,
        ...(maxCost !== undefined ? { maxCostUsd: maxCost } : {}),
        sliceOf: host.sliceOf,
        onProgress: (p) => progress.update(p),
      },
    );
    run.gate = gate(run, baseline, maxRegression);
    const html = await renderEvalReport(run);
    // Stored and printed before any file is written: a path that cannot be written loses nothing of the run.
    if (!values['no-store']) await saveEvalRun(host.store, run, html);
    io.out.write(`${evalTable(run, { color: io.out.isTTY === true })}\n`);
    if (!values['no-store']) io.out.write(`stored as eval run ${run.id}\n`);
    if (run.stoppedBy) io.err.write(`stopped early: ${run.stoppedBy}\n`);
    const files: [label: string, path: string | undefined, text: () => string][] = [
      ['report', values.report ?? `eval-reports/${run.id}.html`, () => html],
      ['results', values.json, () => `${JSON.stringify(run, null, 2)}\n`],
      ['baseline', values['save-baseline'], () => baselineFile(run)],
    ];
    let unwritten = 0;
    for (const [label, path, text] of files) {
      if (path === undefined) continue;
      try {
        await writeLocal(io.cwd, path, text());
        io.out.write(`${label}: ${path}\n`);
      } catch (err) {
        unwritten++;
        io.err.write(`countersign eval: could not write the ${label} to ${path}: ${(err as Error).message}\n`);
      }
    }
    return !run.gate.passed ? 1 : unwritten > 0 ? 2 : 0;
  } catch (err) {
    if (!(err instanceof Usage)) throw err;
    io.err.write(`countersign eval: ${err.message}\n`);
    return 2;
  } finally {
    if (typeof host === 'object') await host.close();
  }
}

async function readLocal(cwd: string, path: string, flag: string): Promise<string> {
  try {
    return await readFile(resolve(cwd, path), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Usage(`${flag} ${path}: ${code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

async function writeLocal(cwd: string, path: string, text: string): Promise<void> {
  const full = resolve(cwd, path);
  await mkdir(dirname(full), { recursive: true });
  await writeFile(full, text);
}
