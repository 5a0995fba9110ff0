import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The bench's parameters: flags with defaults sized for a laptop, `--quick` for a smoke run of a few minutes and
 * `--full` for 100,000 waiting runs.
 */
export interface BenchParams {
  runs: number;
  /** Real waiting runs, started through the agents; they are also the templates the copies are made from. */
  waiting: number;
  /** Decisions of phase 3 in all: rounds of `decisionsAtOnce` sent together. */
  decisions: number;
  /** Decisions sent at once in each round of phase 3 (the goal is stated for ten). */
  decisionsAtOnce: number;
  fanoutRuns: number;
  fanoutLatencyMs: number;
  flows: number;
  /** Webhook POSTs (and decision POSTs, flows added) in flight at once. */
  inFlight: number;
  /**
   * WORKER_CONCURRENCY for the app, and the ceiling's worker concurrency, so the two compare. Unset: the app's
   * production default, which is what the bench is meant to measure.
   */
  workerConcurrency: number | undefined;
  /** Above this ETA for the 10k waiting runs, they are started through engine.startRun instead of HTTP. */
  maxEtaSeconds: number;
  /** Waiting runs to measure with; those beyond `waiting` are copies of real ones (bench/clone-waiting.ts). */
  cloneTo: number;
  /** Signed Slack clicks for the acknowledgement latency, sent at 50 per second. */
  slackClicks: number;
  /** Messages appended to a stopped IMAP reader, then drained. */
  emailBacklog: number;
  /** One-at-a-time IMAP appends timed to the run's start. */
  emailSamples: number;
  /** Timed samples per operation and size for the embedded store's own costs (fewer when one takes seconds). */
  storeSamples: number;
  /** Cases of the eval phase (`countersign eval card-dispute` on the module's cases, repeated). */
  evalCases: number;
  /** Only the eval phase: a few minutes instead of the whole bench. */
  evalOnly: boolean;
  /** Runs stored for the console phase (written straight into the store). */
  consoleRuns: number;
  /** Requests of each console page measured. */
  consoleRequests: number;
  /** Only the console phase. */
  consoleOnly: boolean;
  quick: boolean;
  full: boolean;
  out: string;
}

const DEFAULTS: BenchParams = {
  runs: 200,
  waiting: 200,
  decisions: 100,
  decisionsAtOnce: 10,
  fanoutRuns: 5,
  fanoutLatencyMs: 1_000,
  flows: 2_000,
  inFlight: 20,
  workerConcurrency: undefined,
  maxEtaSeconds: 1_200,
  cloneTo: 10_000,
  slackClicks: 500,
  emailBacklog: 1_000,
  emailSamples: 50,
  storeSamples: 20,
  evalCases: 200,
  evalOnly: false,
  consoleRuns: 10_000,
  consoleRequests: 200,
  consoleOnly: false,
  quick: false,
  full: false,
  out: 'docs/benchmarks.md',
};

/**
 * Waiting runs in a quick run. Measured on the 2-core bench machine with FerretDB/SQLite (2026-12-01): with 10,000
 * (170,000 `steps` documents) the part from the copies to the store costs took about seven minutes, every query
 * scanning the collection (a reconcile pass alone 40-60 s), so quick holds 2,000 (about two and a half minutes) and
 * says so in its report; `--quick --clone-to 10000` runs the larger one.
 */
export const QUICK_WAITING = 2_000;

const QUICK: Partial<BenchParams> = {
  runs: 40,
  waiting: 40,
  decisions: 30,
  fanoutRuns: 2,
  flows: 300,
  slackClicks: 100,
  emailBacklog: 50,
  emailSamples: 10,
  storeSamples: 10,
  evalCases: 50,
  consoleRuns: 2_000,
  consoleRequests: 50,
  cloneTo: QUICK_WAITING,
};

const FULL: Partial<BenchParams> = { cloneTo: 100_000 };

/** docs/benchmarks.md keeps the last complete run (issue 9), so a quick run writes its report elsewhere. */
const QUICK_OUT = join(tmpdir(), 'countersign-bench-quick.md');
const EVAL_ONLY_OUT = join(tmpdir(), 'countersign-bench-eval.md');
const CONSOLE_ONLY_OUT = join(tmpdir(), 'countersign-bench-console.md');

const NUMERIC: Record<string, keyof BenchParams> = {
  '--runs': 'runs',
  '--waiting': 'waiting',
  '--decisions': 'decisions',
  '--decisions-at-once': 'decisionsAtOnce',
  '--fanout-runs': 'fanoutRuns',
  '--fanout-latency': 'fanoutLatencyMs',
  '--flows': 'flows',
  '--in-flight': 'inFlight',
  '--worker-concurrency': 'workerConcurrency',
  '--max-eta': 'maxEtaSeconds',
  '--clone-to': 'cloneTo',
  '--slack-clicks': 'slackClicks',
  '--email-backlog': 'emailBacklog',
  '--email-samples': 'emailSamples',
  '--store-samples': 'storeSamples',
  '--eval-cases': 'evalCases',
  '--console-runs': 'consoleRuns',
  '--console-requests': 'consoleRequests',
};

export const USAGE = `npm run bench -- [--quick | --full] [--runs N] [--waiting N] [--decisions N] [--decisions-at-once N]
  [--fanout-runs N] [--fanout-latency MS] [--flows N] [--in-flight N] [--worker-concurrency N] [--max-eta S]
  [--clone-to N] [--slack-clicks N] [--email-backlog N] [--email-samples N] [--store-samples N]
  [--eval-cases N] [--eval-only] [--console-runs N] [--console-requests N] [--console-only] [--out FILE]
--quick: small counts and 2,000 waiting runs (10,000 adds minutes on FerretDB/SQLite), report in the
  temp folder unless --out; default: 10,000 waiting runs; --full: 100,000.
--eval-only: only the eval phase (200 cases by default), report in the temp folder unless --out.
--console-only: only the console phase (10,000 runs stored, 200 requests per page), report in the temp folder unless --out.
WORKER_CONCURRENCY, RUN_LEASE_MS and RECONCILE_INTERVAL_MS are the production defaults unless --worker-concurrency is given.`;

export function parseArgs(argv: string[]): BenchParams {
  const quick = argv.includes('--quick');
  const full = argv.includes('--full');
  const evalOnly = argv.includes('--eval-only');
  const consoleOnly = argv.includes('--console-only');
  if (evalOnly && consoleOnly) throw new Error(`--eval-only and --console-only exclude each other\n${USAGE}`);
  if (quick && full) throw new Error(`--quick and --full exclude each other\n${USAGE}`);
  const params: BenchParams = {
    ...DEFAULTS,
    ...(quick ? { ...QUICK, out: QUICK_OUT } : {}),
    ...(full ? FULL : {}),
    ...(evalOnly ? { out: EVAL_ONLY_OUT } : {}),
    ...(consoleOnly ? { out: CONSOLE_ONLY_OUT } : {}),
    evalOnly,
    consoleOnly,
    quick,
    full,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    if (flag === '--quick' || flag === '--full' || flag === '--eval-only' || flag === '--console-only') continue;
    const [name, inline] = flag.includes('=') ? flag.split('=', 2) : [flag, undefined];
    const value = inline ?? argv[++i];
    if (name === '--out' && value) {
      params.out = value;
      continue;
    }
    const key = NUMERIC[name ?? ''];
    const n = Number(value);
    if (!key || !Number.isInteger(n) || n < 0) throw new Error(`bad argument ${flag} ${value ?? ''}\n${USAGE}`);
    (params as unknown as Record<string, number>)[key] = n;
  }
  if (params.decisions > params.runs) throw new Error('--decisions cannot exceed --runs (they decide phase 1 runs)');
  if ((params.workerConcurrency ?? 1) < 1 || params.inFlight < 1 || params.decisionsAtOnce < 1)
    throw new Error('concurrency must be at least 1');
  return params;
}
