import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Aborted, type ChaosOptions, runChaos } from './driver.js';
import { formatReport } from './report.js';
import type { ScheduleOptions } from './schedule.js';

const USAGE = `usage: npm run chaos -- [--seed N] [--runs N] [--duration S] [--workers N] [--short] [--json FILE]
                      [--recovery S] [--from-source] [--keep]

  --seed N        replay a run (default: random, always printed)
  --runs N        inbound messages, one dispute each (200; --short: 30)
  --duration S    seconds of faults (120; --short: 45)
  --workers N     worker processes (3)
  --short         the size npm test runs: 30 runs, 45 s, one 6 s store stop, one Redis restart, a kill every ~3 s
  --json FILE     also write the report as JSON
  --recovery S    after the faults, how long every run has to finish (300, or 3 s a run if more)
  --from-source   run main.ts through tsx instead of dist/ (when dist/ is stale)
  --keep          keep the temp dir (logs, data) even when every invariant holds
`;

const count = (max: number) => z.coerce.number().int().min(1).max(max);
const argsSchema = z.object({
  seed: z.coerce
    .number()
    .int()
    .min(0)
    .max(2 ** 31)
    .optional(),
  runs: count(5_000).optional(),
  duration: count(3_600).optional(),
  workers: count(32).optional(),
  short: z.boolean().default(false),
  json: z.string().min(1).optional(),
  recovery: count(3_600).optional(),
  'from-source': z.boolean().default(false),
  keep: z.boolean().default(false),
});

/** The sizes of `--short` (npm test) and of the full suite; flags given explicitly win. */
export function chaosOptions(
  args: z.infer<typeof argsSchema>,
  log: (line: string) => void,
): Omit<ChaosOptions, 'signal'> {
  const short = args.short;
  const runs = args.runs ?? (short ? 30 : 200);
  const durationMs = (args.duration ?? (short ? 45 : 120)) * 1_000;
  const schedule: ScheduleOptions = short
    ? {
        durationMs,
        killEveryMs: 3_000,
        storeStops: 1,
        storeStopMs: 6_000,
        redisRestarts: 1,
        proxyEpisodes: 1,
        cutRate: 0.002,
      }
    : {
        durationMs,
        killEveryMs: 2_000,
        storeStops: 2,
        storeStopMs: 10_000,
        redisRestarts: 1,
        proxyEpisodes: 3,
        cutRate: 0.002,
      };
  return {
    seed: args.seed ?? randomInt(1, 2 ** 31),
    runs,
    workers: args.workers ?? 3,
    short,
    schedule,
    // Every run must finish after the faults: allow the slowest pace of this 2-core machine (~3 s a run).
    recoveryDeadlineMs: (args.recovery ?? Math.max(300, runs * 3)) * 1_000,
    fromSource: args['from-source'],
    keepDir: args.keep,
    log,
  };
}

function parseChaosArgs(argv: string[]): z.infer<typeof argsSchema> | string {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({
      args: argv,
      options: {
        seed: { type: 'string' },
        runs: { type: 'string' },
        duration: { type: 'string' },
        workers: { type: 'string' },
        short: { type: 'boolean' },
        json: { type: 'string' },
        recovery: { type: 'string' },
        'from-source': { type: 'boolean' },
        keep: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return (err as Error).message;
  }
  if (values.help) return '';
  const parsed = argsSchema.safeParse(values);
  if (!parsed.success) return parsed.error.issues.map((i) => `--${i.path.join('.')}: ${i.message}`).join('\n');
  return parsed.data;
}

async function main(argv: string[]): Promise<number> {
  const args = parseChaosArgs(argv);
  if (typeof args === 'string') {
    if (args) process.stderr.write(`chaos: ${args}\n\n`);
    process.stderr.write(USAGE);
    return args ? 2 : 0;
  }
  const options = chaosOptions(args, (line) => process.stdout.write(`${line}\n`));
  const abort = new AbortController();
  // Ctrl-C: stop injecting, kill every process the suite started (runChaos's finally), then exit.
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  try {
    const report = await runChaos({ ...options, signal: abort.signal });
    process.stdout.write(formatReport(report));
    if (args.json) writeFileSync(args.json, `${JSON.stringify(report, null, 2)}\n`);
    return report.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof Aborted) {
      process.stderr.write(`chaos: interrupted (seed ${options.seed})\n`);
      return 130;
    }
    process.stderr.write(`chaos: ${(err as Error).stack ?? String(err)}\n(seed ${options.seed})\n`);
    return 1;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`chaos: ${String(err)}\n`);
      process.exit(1);
    },
  );
}
