/**
 * `npm run bench`: measures the real app end to end and writes docs/benchmarks.md. Phases run in one process,
 * in this order: the BullMQ ceiling (on an empty prefix), idle requests with no run, warm-up, webhook throughput,
 * fan-out, decisions arriving ten at once, Slack and email, then the fill-up to N waiting runs and what they cost
 * (idle requests among them), and last the embedded store's own costs at the sizes reached. The app runs with the
 * production defaults of RUN_LEASE_MS, RECONCILE_INTERVAL_MS and WORKER_CONCURRENCY. Cleanup runs on success,
 * failure and Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { BOT_TOKEN, startSlackStandin } from '../test/support/slack-standin.js';
import { type BenchParams, parseArgs, QUICK_WAITING, USAGE } from './args.js';
import { benchEmailIntake } from './email-intake.js';
import { type BenchApp, benchConfig, startBenchApp, waitForCount } from './harness.js';
import { canForceGc, usedMemory } from './memory.js';
import { measureCeiling } from './phase-ceiling.js';
import { CONSOLE_METHOD, measureConsole } from './phase-console.js';
import { measureEval } from './phase-eval.js';
import { measureFanout } from './phase-fanout.js';
import { type IdleResult, idleBreakdown, measureIdle } from './phase-idle.js';
import { DECISION_BUDGET, measureResume, RESUME_GOAL_RTT } from './phase-resume.js';
import { failedCount, measureThroughput, pendingCount, WEBHOOK_BUDGET } from './phase-throughput.js';
import { measureWaiting } from './phase-waiting.js';
import { note, phase } from './progress.js';
import { machine, markdown, table, writeReport } from './report.js';
import type { PhaseResult, Row } from './report-types.js';
import { budgetBars } from './requests.js';
import { benchNames, cleanUp, publicAddress, type SmtpSink, startSmtpSink } from './services.js';
import { measureSlackAck } from './slack-ack.js';
import { count, fmt } from './stats.js';
import { measureStoreCost } from './store-cost.js';
import { probeStore } from './store-probe.js';

const EVAL_METHOD =
  'Eval: the card-dispute module’s own cases repeated to `--eval-cases` (ids suffixed per round) through `runEval`, the runner `countersign eval` uses, with its default concurrency (4) and the offline model at its default latency (150 ms per request); the judge grades each reply. Overhead per case: 40 of the cases again, one at a time, with the model answering at 0 ms.';

const METHOD = [
  'All figures come from one process and one run, with RUN_LEASE_MS, RECONCILE_INTERVAL_MS and WORKER_CONCURRENCY at their production defaults (stated at the top). The store and the machine may be shared with other work (tests): compare request counts across runs, times only within one.',
  'Store requests: every command the app’s own MongoDB client sends, seen through the driver’s command monitoring (`logStoreRequests` in src/store/request-log.ts; handshakes, heartbeats and sessions left out). The bench polls, probes and copies on a second connection, so none of its own requests are counted. Counts hold for MongoDB and FerretDB alike, unlike times.',
  'Store requests per run, webhook → pending checkpoint: from an idle app (queues drained), the requests between the first webhook POST of phase 1 and the moment the last of its runs has a pending checkpoint, ÷ runs; the breakdown is by `collection.command`. Reconciler passes and approver notifications that ran in that stretch are included; the figure “once the notifications are sent” also counts until the queues drain again.',
  'Store requests per run, decision → completed: for each round of phase 3, from an idle app, the requests between sending the decisions and the last of the round’s runs being `completed`, summed over the rounds ÷ decisions.',
  'Runs per second: first webhook POST → the moment `countDocuments({status: "pending"})` on checkpoints reaches N (polled every 100 ms). Latency per run: `run.createdAt` → `checkpoint.createdAt`.',
  'Fan-out: for each run, (max `finishedAt` − min `startedAt`) of the three specialist steps ÷ the longest single specialist (`finishedAt` − `startedAt`), from the journal. Runs go one at a time.',
  'Decision → next step started: rounds of ten (`--decisions-at-once`) approvals sent together through `POST /api/checkpoints/:id/decision`, each round once the app is idle; `decision.decidedAt` (stored by the decide path) → the start of the `send-reply` step, the first step after the checkpoint (`startedAt`, or the step document’s `createdAt` where the journal keeps no start). Expressed in store round trips: ÷ the p50 of a `findById` on a one-document scratch collection, sent every 20 ms on the bench connection while the rounds were in flight.',
  'Idle store requests per second: with the queues drained, the app’s requests over two reconcile intervals (the app’s `reconcileIntervalMs`, production default) ÷ seconds; once right after start with no run, once with every waiting run (copies included) in the store. Store busy time is the sum of the driver’s durations of the replies in the window, and documents read the documents in `find`/`aggregate`/`getMore` replies: what the request count hides.',
  'Reconciler passes: after the idle window and the check that a copy resumes, the workers (and their interval timer) stop and, once no request of the app is in flight, `reconcile` is called twice with one state: the first pass (whole decision look-back, housekeeping), then the steady one; each timed, counted and bounded at 10 minutes.',
  'Waiting runs: real runs (agents ran, checkpoint pending), started with a bounded window of runs in progress; the rest are copies of real waiting runs (bench/clone-waiting.ts: the run, every `steps` document of its journal and its checkpoints, ids rewritten, inserted in batches). Then the queues drain, the idle window runs, one copy is decided and must complete, the reconciler passes are timed (below), and memory is read (RSS after a forced GC; Redis `MEMORY USAGE` over `SCAN` of the bench prefix).',
  'Embedded store costs: a scratch collection shaped like `steps` (index on `runId`), filled by insertMany in batches of 1,000 to 1,000 documents and to the number of documents `runs` and `steps` hold at the end of the bench; with the app’s workers stopped, at each size, one at a time, the p50 of insertOne, findOne by `_id`, find on `runId`, updateOne on `_id` + `status`, deleteOne by `_id` (each capped at 15 s of samples once it has three). Dropped afterwards.',
  EVAL_METHOD,
  CONSOLE_METHOD,
  'Ceiling: BullMQ FlowProducer flows (1 parent + 3 children) with no-op workers, measured first, on the same Redis, with the app’s worker concurrency.',
];

/** Things worth a sentence that the numbers alone would hide. */
function observe(
  params: BenchParams,
  latenciesMs: readonly number[],
  leaseMs: number,
  reconcile: { passMs: number; intervalMs: number; waiting: number },
): string[] {
  const out: string[] = [];
  if (reconcile.passMs > reconcile.intervalMs) {
    out.push(
      `One reconcile pass with ${count(reconcile.waiting)} waiting runs took ${fmt(reconcile.passMs / 1000)} s, longer than the reconcile interval (${fmt(reconcile.intervalMs / 1000)} s): the store is busy with reconciling all the time, and the idle request count alone does not show it (see store busy time).`,
    );
  }
  const stalled = latenciesMs.filter((ms) => ms >= leaseMs * 0.95).length;
  if (stalled > 0) {
    out.push(
      `${stalled} of ${latenciesMs.length} phase-1 runs took at least RUN_LEASE_MS (${leaseMs} ms) to reach their checkpoint: a run pass that lost the race for the run's lease re-enqueued itself for the lease's expiry instead of being picked up by the holder, so the run idled until then. Look at the lease/dirty hand-off in src/engine/pass.ts.`,
    );
  }
  const held = Math.max(params.waiting, params.cloneTo);
  if (params.quick && held === QUICK_WAITING) {
    out.push(
      `Quick run: ${count(held)} waiting runs, not 10,000. On the 2-core bench machine with FerretDB/SQLite the 10,000-run part took about seven minutes, every query scanning the collections (a reconcile pass alone 40–60 s); \`npm run bench -- --quick --clone-to 10000\` measures it, and \`npm run bench\` does by default.`,
    );
  } else if (held < 10_000) {
    out.push(
      `This run held ${count(held)} waiting runs, not 10,000; the per-run figures (RSS and Redis bytes per waiting run, jobs while waiting) are what to extrapolate.`,
    );
  }
  return out;
}

/** The figures side by side with their goals, first in the output and the report. */
function summaryRows(s: {
  webhook: { perRun: number; withNotify: number; moduleData: number };
  decision: { perRun: number; withNotify: number };
  resume: { p50: number; p99: number; rtt: number; atOnce: number };
  idle: { none: IdleResult; waiting: IdleResult };
  runsPerSecond: number;
  flowsPerSecond: number;
  store: Row | undefined;
}): Row[] {
  const rtt = (ms: number) => `${fmt(ms)} ms = ${fmt(ms / s.resume.rtt)} RTT`;
  return [
    {
      metric: 'Store requests per run, webhook → pending checkpoint (card-dispute)',
      value: fmt(s.webhook.perRun),
      unit: `≤ ${WEBHOOK_BUDGET}`,
      notes: `${fmt(s.webhook.withNotify)} with the approver notifications; ${fmt(s.webhook.moduleData)} of them are the tools reading the module's own data`,
    },
    {
      metric: 'Store requests per run, decision → completed',
      value: fmt(s.decision.perRun),
      unit: `≤ ${DECISION_BUDGET}`,
      notes: `${fmt(s.decision.withNotify)} with the channels told of the decision`,
    },
    {
      metric: `Decision → next step started, ${s.resume.atOnce} at once, p50 / p99`,
      value: `${rtt(s.resume.p50)} / ${rtt(s.resume.p99)}`,
      unit: `≤ ${RESUME_GOAL_RTT.p50} / ≤ ${RESUME_GOAL_RTT.p99} RTT`,
      notes: `store round trip (RTT) p50 during the rounds ${fmt(s.resume.rtt)} ms`,
    },
    {
      metric: `Idle store requests/s, ${count(s.idle.none.waiting)} vs ${count(s.idle.waiting.waiting)} waiting runs`,
      value: `${fmt(s.idle.none.perSecond)} vs ${fmt(s.idle.waiting.perSecond)}`,
      unit: 'equal within noise',
      notes: `queues drained, two reconcile intervals each; store busy ${fmt(s.idle.none.store.busyMs / s.idle.none.seconds)} vs ${fmt(s.idle.waiting.store.busyMs / s.idle.waiting.seconds)} ms/s, documents read ${fmt(s.idle.none.store.documents / s.idle.none.seconds)} vs ${fmt(s.idle.waiting.store.documents / s.idle.waiting.seconds)} /s`,
    },
    {
      metric: 'Webhook → checkpoint runs/s; raw BullMQ flow ceiling',
      value: `${fmt(s.runsPerSecond)}; ${fmt(s.flowsPerSecond)} flows/s`,
      unit: '',
      notes: `${fmt((s.runsPerSecond / s.flowsPerSecond) * 100)} % of the ceiling`,
    },
    ...(s.store
      ? [
          {
            ...s.store,
            unit: `${s.store.unit}`,
            notes: 'insert / findById / indexed query / conditional updateOne / deleteOne',
          },
        ]
      : []),
  ];
}

/** The header sentence on the knobs the issue wants left at what users get. */
function productionDefaults(
  overrides: readonly string[],
  v: { lease: number; reconcile: number; concurrency: number },
): string {
  const values = `RUN_LEASE_MS ${v.lease} ms, RECONCILE_INTERVAL_MS ${v.reconcile} ms, WORKER_CONCURRENCY ${v.concurrency}`;
  return overrides.length === 0
    ? `Production defaults: ${values} (src/config.ts defaults; the bench sets none of them).`
    : `Not all production defaults: ${values}; set by the bench: ${overrides.join(', ')} (--worker-concurrency).`;
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

    sink = await startSmtpSink();
    const slack = await startSlackStandin();
    slackStandin = slack;
    const signingSecret = randomBytes(16).toString('hex');
    const bc = await benchConfig({
      names,
      redisUrl,
      smtpUrl: sink.url,
      workerConcurrency: params.workerConcurrency,
      slack: { botToken: BOT_TOKEN, signingSecret, apiUrl: slack.url },
    });
    const concurrency = bc.config.workerConcurrency;

    // First, on its own empty prefix, before the app adds load (not needed for --eval-only).
    const measureFlows = () => {
      phase(`phase 5 (run first, on an empty prefix): BullMQ ceiling, ${params.flows} flows of parent + 3 children`);
      return measureCeiling({
        redisUrl,
        prefix: names.ceilingPrefix,
        flows: params.flows,
        concurrency,
        inFlight: params.inFlight,
      });
    };
    const firstCeiling = params.evalOnly || params.consoleOnly ? undefined : await measureFlows();

    phase('starting the app (createApp, offline model in-process, SMTP sink)');
    bench = await startBenchApp(bc);
    const b = bench;
    const settings = b.app.deps.settings;
    const defaults = productionDefaults(bc.overrides, {
      lease: settings.leaseMs,
      reconcile: settings.reconcileIntervalMs,
      concurrency,
    });
    note(defaults);

    if (params.evalOnly) {
      phase(`eval: ${params.evalCases} card-dispute cases on the offline model`);
      const evals = await measureEval(b, 'card-dispute', params.evalCases);
      phase('results');
      process.stdout.write(`\n${defaults}\n\n${table(evals.rows)}\n`);
      await writeReport(
        params.out,
        markdown({
          summary: evals.rows,
          summaryHeading: 'Summary: `countersign eval` alone',
          rows: evals.rows,
          charts: [],
          params,
          argv,
          machine: machine(redisVersion, 'see the full bench'),
          method: [EVAL_METHOD],
          observations: [],
          defaults,
        }),
      );
      note(`wrote ${params.out}`);
      return 0;
    }

    if (params.consoleOnly) {
      phase(`console: runs list and run detail with ${count(params.consoleRuns)} runs stored`);
      const consolePhase = await measureConsole(b, params.consoleRuns, params.consoleRequests);
      phase('results');
      process.stdout.write(`\n${defaults}\n\n${table(consolePhase.rows)}\n`);
      await writeReport(
        params.out,
        markdown({
          summary: consolePhase.rows,
          summaryHeading: `Summary against issue 12: the console with ${count(params.consoleRuns)} runs stored`,
          rows: consolePhase.rows,
          charts: [],
          params,
          argv,
          machine: machine(redisVersion, 'see the full bench'),
          method: [CONSOLE_METHOD],
          observations: [],
          defaults,
        }),
      );
      note(`wrote ${params.out}`);
      return 0;
    }

    const ceiling = firstCeiling ?? (await measureFlows());

    phase(
      `phase 0: idle store requests with no run, over two reconcile intervals (${fmt((2 * settings.reconcileIntervalMs) / 1000)} s)`,
    );
    const idleNone = await measureIdle(b, await b.observer.runs.countDocuments({ status: 'waiting' }).exec());

    phase('warming up');
    const warm = params.quick ? 3 : 10;
    for (let i = 0; i < warm; i++) await b.webhook(i);
    await waitForCount({ count: pendingCount(b), target: warm, timeoutMs: 240_000, failed: failedCount(b) });
    const buildInfo = await b.observer.connection.db?.admin().command({ buildInfo: 1 });
    const store = buildInfo?.ferretdbVersion
      ? `FerretDB, version "${String(buildInfo.ferretdbVersion)}" (reports MongoDB ${String(buildInfo.version)})`
      : `MongoDB ${String(buildInfo?.version ?? 'unknown')}`;
    note(`${warm} warm-up runs at their checkpoint; store: ${store} at ${publicAddress(mongoUri)}`);
    const storeRow = await probeStore(b.observer.connection);
    note(`${storeRow.metric}: ${storeRow.value} ${storeRow.unit}`);

    phase(`phase 1: ${params.runs} webhooks → pending checkpoints, model at 0 ms`);
    const throughput = await measureThroughput(b, params.runs, params.inFlight);
    note(`store requests per run to the checkpoint: ${fmt(throughput.requestsPerRun)} (budget ≤ ${WEBHOOK_BUDGET})`);

    phase(`phase 2: fan-out, ${params.fanoutRuns} runs with the model at ${params.fanoutLatencyMs} ms`);
    const fanout = await measureFanout(b, params.fanoutRuns, params.fanoutLatencyMs);

    phase(`phase 3: ${params.decisions} decisions, ${params.decisionsAtOnce} at once → resume`);
    const resume = await measureResume(b, throughput.runIds, params.decisions, params.decisionsAtOnce);
    note(`store requests per run, decision → completed: ${fmt(resume.requestsPerRun)} (budget ≤ ${DECISION_BUDGET})`);

    // Slack and email run before phase 4: with 10,000 waiting runs in the store every query is slower.
    phase(`phase 6: Slack acknowledgement latency, ${params.slackClicks} signed clicks at 50 per second`);
    const pending = await b.observer.checkpoints.find({ status: 'pending' }).limit(200).lean();
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

    phase(`phase 9: eval of ${params.evalCases} card-dispute cases on the offline model`);
    const evals = await measureEval(b, 'card-dispute', params.evalCases);

    const waitingTotal = Math.max(params.waiting, params.cloneTo);
    phase(
      `phase 4: fill up to ${count(waitingTotal)} waiting runs (${params.waiting} real) and measure what they cost`,
    );
    const waiting = await measureWaiting(b, {
      target: params.waiting,
      inFlight: params.inFlight,
      runsPerSecond: throughput.runsPerSecond,
      maxEtaSeconds: params.maxEtaSeconds,
      redis,
      usedMemoryAtStart,
      cloneTo: params.cloneTo,
    });

    phase('phase 8: the embedded store’s own costs at the sizes the bench reached');
    const storeCost = await measureStoreCost(b, waiting.sizes, params.storeSamples);

    phase(`phase 10: the console's runs list and run detail with ${count(params.consoleRuns)} more runs stored`);
    const consolePhase = await measureConsole(b, params.consoleRuns, params.consoleRequests);

    const idleRows: Row[] = [idleNone, waiting.idle].map((r) => ({
      metric: `Idle store requests per second, ${count(r.waiting)} waiting runs`,
      value: fmt(r.perSecond),
      unit: 'requests/s',
      notes: `${r.requests.total} requests in ${fmt(r.seconds)} s (${r.intervals} reconcile intervals of ${fmt(settings.reconcileIntervalMs / 1000)} s), queues drained; store busy ${fmt(r.store.busyMs / r.seconds)} ms/s answering them, ${fmt(r.store.documents / r.seconds)} documents read/s; per second: ${idleBreakdown(r)}`,
    }));
    const fraction: Row = {
      metric: 'Countersign runs/s as a fraction of the ceiling',
      value: `${fmt((throughput.runsPerSecond / ceiling.flowsPerSecond) * 100)} %`,
      unit: '',
      notes: `${fmt(throughput.runsPerSecond)} runs/s ÷ ${fmt(ceiling.flowsPerSecond)} flows/s; a run also makes ${fmt(throughput.requestsPerRun)} store requests, 7 model calls over HTTP and 2 emails`,
    };
    const phases: PhaseResult[] = [
      throughput,
      fanout,
      resume,
      waiting,
      ceiling,
      slackAck,
      emailPhase,
      evals,
      storeCost,
      consolePhase,
    ];
    const rows = [
      ...throughput.rows,
      ...resume.rows,
      ...idleRows,
      ...[fanout, waiting, ceiling, slackAck, emailPhase, evals, storeCost, consolePhase].flatMap((p) => p.rows),
      fraction,
      storeRow,
    ];
    const budgetChart = budgetBars([
      { label: 'webhook → pending checkpoint', value: throughput.requestsPerRun, budget: WEBHOOK_BUDGET },
      { label: 'decision → completed', value: resume.requestsPerRun, budget: DECISION_BUDGET },
    ]);
    const charts = [budgetChart, ...phases.flatMap((p) => p.charts)];
    const summary = summaryRows({
      webhook: {
        perRun: throughput.requestsPerRun,
        withNotify: throughput.requestsPerRunWithNotify,
        moduleData: throughput.moduleDataPerRun,
      },
      decision: { perRun: resume.requestsPerRun, withNotify: resume.requestsPerRunWithNotify },
      resume: { ...resume.toStepMs, rtt: resume.rttMs.p50, atOnce: params.decisionsAtOnce },
      idle: { none: idleNone, waiting: waiting.idle },
      runsPerSecond: throughput.runsPerSecond,
      flowsPerSecond: ceiling.flowsPerSecond,
      store: storeCost.rows.at(-1),
    });
    phase('results');
    process.stdout.write(`\n${defaults}\n\n${table(summary, 'goal')}\n${table(rows)}\n${charts.join('\n')}\n`);
    const observations = observe(params, throughput.latenciesMs, settings.leaseMs, {
      passMs: waiting.reconcileMs,
      intervalMs: settings.reconcileIntervalMs,
      waiting: waiting.idle.waiting,
    });
    const text = markdown({
      summary,
      rows,
      charts,
      params,
      argv,
      machine: machine(redisVersion, store),
      method: METHOD,
      observations,
      defaults,
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
