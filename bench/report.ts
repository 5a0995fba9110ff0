import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { dirname } from 'node:path';
import type { BenchParams } from './args.js';
import type { Row } from './report-types.js';

export interface Machine {
  cpus: string;
  memory: string;
  node: string;
  platform: string;
  date: string;
  redis: string;
  store: string;
}

export function machine(redisVersion: string, store: string): Machine {
  const list = cpus();
  return {
    cpus: `${list.length} × ${list[0]?.model.trim() ?? 'unknown'}`,
    memory: `${Math.round(totalmem() / 1024 ** 3)} GiB`,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    redis: redisVersion,
    store,
  };
}

const cell = (s: string) => s.replaceAll('|', '\\|');

/** `unitHeader`: the third column's title (`goal` in the summary, where it holds the issue's budget). */
export function table(rows: readonly Row[], unitHeader = 'unit'): string {
  const lines = [`| metric | value | ${unitHeader} | notes |`, '|---|---:|---|---|'];
  for (const r of rows) lines.push(`| ${cell(r.metric)} | ${cell(r.value)} | ${cell(r.unit)} | ${cell(r.notes)} |`);
  return `${lines.join('\n')}\n`;
}

export function markdown(opts: {
  /** The issue's figures next to their goals. */
  summary: readonly Row[];
  /** Which issue's goals the summary holds (the full bench: issue 9's; one phase alone: that phase's issue). */
  summaryHeading?: string;
  rows: readonly Row[];
  charts: readonly string[];
  params: BenchParams;
  argv: readonly string[];
  machine: Machine;
  method: readonly string[];
  observations: readonly string[];
  /** The sentence on RUN_LEASE_MS, RECONCILE_INTERVAL_MS and WORKER_CONCURRENCY. */
  defaults: string;
}): string {
  const m = opts.machine;
  const p = opts.params;
  return `# Benchmarks

Written by \`npm run bench\` (bench/run.ts); every run overwrites this file. One process runs the real app
(\`createApp\`: HTTP, workers, the offline model in-process, an SMTP sink), on its own database and BullMQ prefix,
which are dropped afterwards. Numbers from a small shared machine: compare them with each other, not with
production; the request counts hold on any store.

${opts.defaults}

## ${opts.summaryHeading ?? 'Summary against issue 9'}

${table(opts.summary, 'goal')}
## Results

${table(opts.rows)}
## Charts

${opts.charts.length > 0 ? `\`\`\`text\n${opts.charts.join('\n')}\`\`\`` : 'None in this mode: the full bench draws them.'}

## Observations

${opts.observations.length ? opts.observations.map((l) => `- ${l}`).join('\n') : '- nothing unusual detected by the bench'}

## How each number is taken

${opts.method.map((l) => `- ${l}`).join('\n')}

## Machine

| | |
|---|---|
| CPU | ${m.cpus} |
| memory | ${m.memory} |
| Node.js | ${m.node} (${m.platform}) |
| Redis | ${m.redis} |
| store | ${m.store} |
| date | ${m.date} |

## Parameters

Command: \`npm run bench${opts.argv.length ? ` -- ${opts.argv.join(' ')}` : ''}\`

| parameter | value |
|---|---|
| runs (phase 1, \`--runs\`) | ${p.runs} |
| webhooks / decisions / flow adds in flight (\`--in-flight\`) | ${p.inFlight} |
| WORKER_CONCURRENCY and ceiling worker concurrency (\`--worker-concurrency\`) | ${p.workerConcurrency ?? 'production default'} |
| fan-out runs (\`--fanout-runs\`) at model latency (\`--fanout-latency\`) | ${p.fanoutRuns} at ${p.fanoutLatencyMs} ms |
| decisions (\`--decisions\`), sent at once per round (\`--decisions-at-once\`) | ${p.decisions}, ${p.decisionsAtOnce} at once |
| real waiting runs (\`--waiting\`) | ${p.waiting} |
| waiting runs in all, copies included (\`--clone-to\`; \`--full\`: 100,000) | ${Math.max(p.waiting, p.cloneTo)} |
| timed samples per store operation and size (\`--store-samples\`) | ${p.storeSamples} |
| ceiling flows (\`--flows\`) | ${p.flows} |
| quick (\`--quick\`) / full (\`--full\`) | ${p.quick} / ${p.full} |
| AUTONOMY | manual (every dispute stops at the checkpoint) |
| offline model latency outside phase 2 | 0 ms |
`;
}

export async function writeReport(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}
