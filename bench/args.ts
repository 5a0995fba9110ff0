/** The bench's parameters: flags with defaults sized for a laptop, and `--quick` for a smoke run under a minute. */
export interface BenchParams {
  runs: number;
  waiting: number;
  decisions: number;
  fanoutRuns: number;
  fanoutLatencyMs: number;
  flows: number;
  /** Webhook POSTs (and decision POSTs, flows added) in flight at once. */
  inFlight: number;
  /** WORKER_CONCURRENCY for the app, and the ceiling's worker concurrency, so the two compare. */
  workerConcurrency: number;
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
  quick: boolean;
  out: string;
}

const FULL: BenchParams = {
  runs: 200,
  waiting: 1_000,
  decisions: 100,
  fanoutRuns: 5,
  fanoutLatencyMs: 1_000,
  flows: 2_000,
  inFlight: 20,
  workerConcurrency: 8,
  maxEtaSeconds: 1_200,
  cloneTo: 10_000,
  slackClicks: 500,
  emailBacklog: 1_000,
  emailSamples: 50,
  quick: false,
  out: 'docs/benchmarks.md',
};

const QUICK: Partial<BenchParams> = {
  runs: 30,
  waiting: 200,
  decisions: 20,
  fanoutRuns: 2,
  flows: 300,
  cloneTo: 1_000,
  slackClicks: 100,
  emailBacklog: 50,
  emailSamples: 10,
};

const NUMERIC: Record<string, keyof BenchParams> = {
  '--runs': 'runs',
  '--waiting': 'waiting',
  '--decisions': 'decisions',
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
};

export const USAGE = `npm run bench -- [--quick] [--runs N] [--waiting N] [--decisions N] [--fanout-runs N]
  [--fanout-latency MS] [--flows N] [--in-flight N] [--worker-concurrency N] [--max-eta S] [--clone-to N] [--slack-clicks N]
  [--email-backlog N] [--email-samples N] [--out FILE]`;

export function parseArgs(argv: string[]): BenchParams {
  const quick = argv.includes('--quick');
  const params: BenchParams = { ...FULL, ...(quick ? QUICK : {}), quick };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] ?? '';
    if (flag === '--quick') continue;
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
  if (params.workerConcurrency < 1 || params.inFlight < 1) throw new Error('concurrency must be at least 1');
  return params;
}
