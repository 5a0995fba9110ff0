/**
 * `npm run bench`: measures the real app end to end and writes docs/benchmarks.md. Phases run in one process,
 * in this order: the BullMQ ceiling (on an empty prefix), warm-up, webhook throughput, fan-out, decision to
 * resume, then the fill-up to N waiting runs and what they cost. Cleanup runs on success, failure and Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BOT_TOKEN, startSlackStandin } from '../test/support/slack-standin.js';
import { type BenchParams, parseArgs, USAGE } from './args.js';
import { benchEmailIntake } from './email-intake.js';
import { type BenchApp, startBenchApp, waitForCount } from './harness.js';
import { canForceGc, usedMemory } from './memory.js';
import { measureCeiling } from './phase-ceiling.js';
import { measureFanout } from './phase-fanout.js';
import { measureResume } from './phase-resume.js';
import { failedCount, measureThroughput, pendingCount } from './phase-throughput.js';
import { measureWaiting } from './phase-waiting.js';
import { note, phase } from './progress.js';
import { machine, markdown, table, writeReport } from './report.js';
import type { PhaseResult, Row } from './report-types.js';
import { benchNames, cleanUp, publicAddress, type SmtpSink, startSmtpSink } from './services.js';
import { measureSlackAck } from './slack-ack.js';
import { fmt } from './stats.js';
import { probeStore } from './store-probe.js';

const METHOD = [
  'Runs per second: first webhook POST → the moment `countDocuments({status: "pending"})` on checkpoints reaches N (polled every 100 ms). Latency per run: `run.createdAt` → `checkpoint.createdAt`.',
  'Fan-out: for each run, (max `finishedAt` − min `startedAt`) of the three specialist steps ÷ the longest single specialist (`finishedAt` − `startedAt`), from the journal. Runs go one at a time.',
  'Decision → resume: `decision.decidedAt` (stored by the decide path) → `startedAt` of the `send-reply` step, the first step after the checkpoint. Decisions go through `POST /api/checkpoints/:id/decision`.',
  'Waiting runs: real runs (agents ran, checkpoint pending), started with a bounded window of runs in progress; then the queues drain, one reconcile pass is timed and memory is read (RSS after a forced GC; Redis `MEMORY USAGE` over `SCAN` of the bench prefix).',
  'Ceiling: BullMQ FlowProducer flows (1 parent + 3 children) with no-op workers, measured first, on the same Redis, with the app’s worker concurrency.',
];

/** Things worth a sentence that the numbers alone would hide. */
function observe(params: BenchParams, latenciesMs: readonly number[], leaseMs: number): string[] {
  const out: string[] = [];
  const stalled = latenciesMs.filter((ms) => ms >= leaseMs * 0.95).length;
  if (stalled > 0) {
    out.push(
      `${stalled} of ${latenciesMs.length} phase-1 runs took at least RUN_LEASE_MS (${leaseMs} ms) to reach their checkpoint: a run pass that lost the race for the run's lease re-enqueued itself for the lease's expiry instead of being picked up by the holder, so the run idled until then. Look at the lease/dirty hand-off in src/engine/pass.ts.`,
    );
  }
  if (Math.max(params.waiting, params.cloneTo) < 10_000) {
    out.push(
      `This run held ${Math.max(params.waiting, params.cloneTo)} waiting runs, not 10,000; the per-run figures (RSS and Redis bytes per waiting run, jobs while waiting) are what to extrapolate.`,
    );
  }
  return out;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const params = parseArgs(argv);
  const mongoUri = process.env.MONGODB_URI;
  const redisUrl = process.env.REDIS_URL;
  if (!mongoUri || !redisUrl) {
    process.stderr.write('MONGODB_URI and REDIS_URL must be set: run it as `npm run bench`, which brings them up\n');
    return 2;
  }
  const names = benchNames(mongoUri);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 3 });
  let sink: SmtpSink | undefined;
  let slackStandin: { close(): Promise<void> } | undefined;
  let bench: BenchApp | undefined;
  // One promise shared by the signal handler and main's finally, so neither exits before the other's cleanup ends.
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= cleanUpAll();
    return cleaning;
  };
  const cleanUpAll = async () => {
    phase('cleaning up');
    await bench?.close().catch((e: unknown) => note(`closing the app: ${(e as Error).message}`));
    await sink?.close().catch(() => {});
    await slackStandin?.close().catch(() => {});
    await cleanUp(names, redisUrl).then(
      () => note(`dropped database ${names.database}, deleted keys ${names.appPrefix}:* and ${names.ceilingPrefix}:*`),
      (e: unknown) =>
        note(`cleanup failed (${(e as Error).message}): drop ${names.database} and ${names.appPrefix}* by hand`),
    );
    redis.disconnect();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      note(`${signal}: stopping`);
      void cleanup().finally(() => process.exit(130));
    });
  }

  try {
    phase(
      `bench ${names.token}: database ${names.database}, prefix ${names.appPrefix}${params.quick ? ' (quick)' : ''}`,
    );
    if (!canForceGc) note('no forced GC available: memory figures include garbage');
    const usedMemoryAtStart = await usedMemory(redis);
    const redisVersion = /^redis_version:(\S+)/m.exec(await redis.info('server'))?.[1] ?? 'unknown';

    phase(`phase 5 (run first, on an empty prefix): BullMQ ceiling, ${params.flows} flows of parent + 3 children`);
    const ceiling = await measureCeiling({
      redisUrl,
      prefix: names.ceilingPrefix,
      flows: params.flows,
      concurrency: params.workerConcurrency,
      inFlight: params.inFlight,
    });

    phase('starting the app (createApp, offline model in-process, SMTP sink) and warming up');
    sink = await startSmtpSink();
    const slack = await startSlackStandin();
    slackStandin = slack;
    const signingSecret = randomBytes(16).toString('hex');
    bench = await startBenchApp({
      names,
      redisUrl,
      smtpUrl: sink.url,
      workerConcurrency: params.workerConcurrency,
      slack: { botToken: BOT_TOKEN, signingSecret, apiUrl: slack.url },
    });
    const b = bench;
    const warm = params.quick ? 3 : 10;
    for (let i = 0; i < warm; i++) await b.webhook(i);
    await waitForCount({ count: pendingCount(b), target: warm, timeoutMs: 240_000, failed: failedCount(b) });
    const buildInfo = await b.app.store.connection.db?.admin().command({ buildInfo: 1 });
    const store = buildInfo?.ferretdbVersion
      ? `FerretDB, version "${String(buildInfo.ferretdbVersion)}" (reports MongoDB ${String(buildInfo.version)})`
      : `MongoDB ${String(buildInfo?.version ?? 'unknown')}`;
    note(`${warm} warm-up runs at their checkpoint; store: ${store} at ${publicAddress(mongoUri)}`);
    const storeRow = await probeStore(b.app.store.connection);
    note(`${storeRow.metric}: ${storeRow.value} ${storeRow.unit}`);

    phase(`phase 1: ${params.runs} webhooks → pending checkpoints, model at 0 ms`);
    const throughput = await measureThroughput(b, params.runs, params.inFlight);

    phase(`phase 2: fan-out, ${params.fanoutRuns} runs with the model at ${params.fanoutLatencyMs} ms`);
    const fanout = await measureFanout(b, params.fanoutRuns, params.fanoutLatencyMs);

    phase(`phase 3: ${params.decisions} decisions → resume`);
    const resume = await measureResume(b, throughput.runIds, params.decisions, params.inFlight);

    // Slack and email run before phase 4: with 10,000 waiting runs in the store every query is slower.
    phase(`phase 6: Slack acknowledgement latency, ${params.slackClicks} signed clicks at 50 per second`);
    const pending = await b.app.store.checkpoints.find({ status: 'pending' }).limit(200).lean();
    const slackAck = await measureSlackAck({
      baseUrl: b.baseUrl,
      signingSecret,
      checkpointIds: pending.map((c) => c._id),
      users: ['UBENCH1', 'UBENCH2', 'UBENCH3'],
      rate: 50,
      clicks: params.slackClicks,
    });

    phase(
      `phase 7: email intake on a local Dovecot, ${params.emailSamples} timed appends and a ${params.emailBacklog}-message backlog`,
    );
    const email = await benchEmailIntake(b.app, { latencySamples: params.emailSamples, backlog: params.emailBacklog });
    const emailPhase: PhaseResult = {
      rows: [
        {
          metric: 'Email intake latency p50 / p99',
          value: `${fmt(email.latency.p50Ms)} / ${fmt(email.latency.p99Ms)}`,
          unit: 'ms',
          notes: `IMAP APPEND → run started, ${email.latency.samples} messages one at a time (IDLE push, fetch, claim, parse, startRun)`,
        },
        {
          metric: 'Email backlog drain',
          value: fmt(email.backlog.perSecond),
          unit: 'messages/s',
          notes: `${email.backlog.messages} messages appended while the reader was stopped; ${fmt(email.backlog.seconds)} s until every one started its run`,
        },
      ],
      charts: [],
    };

    phase(`phase 4: fill up to ${params.waiting} waiting runs and measure what they cost`);
    const waiting = await measureWaiting(b, {
      target: params.waiting,
      inFlight: params.inFlight,
      runsPerSecond: throughput.runsPerSecond,
      maxEtaSeconds: params.maxEtaSeconds,
      redis,
      usedMemoryAtStart,
      cloneTo: params.cloneTo,
    });

    const fraction: Row = {
      metric: 'Countersign runs/s as a fraction of the ceiling',
      value: `${fmt((throughput.runsPerSecond / ceiling.flowsPerSecond) * 100)} %`,
      unit: '',
      notes: `${fmt(throughput.runsPerSecond)} runs/s ÷ ${fmt(ceiling.flowsPerSecond)} flows/s; a run also does ~40 store writes and reads, 7 model calls over HTTP and 2 emails`,
    };
    const phases: PhaseResult[] = [throughput, fanout, resume, waiting, ceiling, slackAck, emailPhase];
    const rows = [...phases.flatMap((p) => p.rows), fraction, storeRow];
    const charts = phases.flatMap((p) => p.charts);
    phase('results');
    process.stdout.write(`\n${table(rows)}\n${charts.join('\n')}\n`);
    const observations = observe(params, throughput.latenciesMs, b.app.config.runLeaseMs);
    const text = markdown({
      rows,
      charts,
      params,
      argv,
      machine: machine(redisVersion, store),
      method: METHOD,
      observations,
    });
    await writeReport(params.out, text);
    note(`wrote ${params.out}; the SMTP sink took ${sink.received()} messages`);
    return 0;
  } catch (err) {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${String(err)}\n`);
    process.exit(1);
  },
);
