import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ephemeralPort } from '../src/services/net.js';
import { BOT_TOKEN, type SlackStandin, startSlackStandin } from '../test/support/slack-standin.js';
import { type SmtpCapture, startSmtpCapture } from '../test/support/smtp-capture.js';
import { type ChaosService, startChaosFerretdb, startChaosRedis } from './chaos-services.js';
import { type DecisionChannel, type DecisionRecord, sendDecision } from './decisions.js';
import { type FaultProxy, startFaultProxy } from './fault-proxy.js';
import { type FaultRunner, runFaults } from './faults.js';
import { channelPlan, type InboundRecord, sendInbound } from './intake.js';
import { checkInvariants } from './invariants.js';
import { observeStore, type Snapshot } from './observe.js';
import { type AppProcesses, appProcesses } from './processes.js';
import { between, seededRandom } from './random.js';
import { type ChaosReport, channelCounts, decisionCounts, type TimelineSample } from './report.js';
import { type HealthWatch, lastError, type Mailbox, seedStore, startMailbox, watchHealth } from './rig.js';
import { faultSchedule, type ScheduleOptions } from './schedule.js';

export interface ChaosOptions {
  seed: number;
  runs: number;
  workers: number;
  short: boolean;
  schedule: ScheduleOptions;
  /** After the fault window: how long the app has to finish every run before the invariants are judged. */
  recoveryDeadlineMs: number;
  /** Run main.ts through tsx instead of dist/ (a checkout whose build is stale). */
  fromSource: boolean;
  /** Keep the temp dir (logs, data) even when every invariant holds. */
  keepDir: boolean;
  log(line: string): void;
  signal?: AbortSignal;
}

const APPROVALS = 'CAPPROVALS';
const SUPPORT = 'CSUPPORT';
const APPROVER = { id: 'UALICE', email: 'approver@example.com', name: 'Alice Approver' };
const REPORTER = { id: 'UCAROL', email: 'carol@example.com', name: 'Carol Support' };
const MAIL_FROM = 'Northwind Disputes <disputes@northwind.test>';
const SECRETS = {
  APP_SECRET: 'chaos-app-secret-0123456789-0123456789-abcdef',
  COUNTERSIGN_API_TOKEN: 'chaos-api-token-0123456789',
  WEBHOOK_SECRET: 'chaos-webhook-secret-0123456789',
  SLACK_SIGNING_SECRET: 'chaos-signing-secret-0123456789abcdef',
};
/** Intake is spread over this share of the fault window, so every run meets faults on its way. */
const INTAKE_SHARE = 0.6;
const REJECT_SHARE = 0.2;
const DECISION_CHANNELS: readonly [DecisionChannel, number][] = [
  ['api', 0.4],
  ['slack', 0.4],
  ['link', 0.2],
];
/** Quiet (no new run, mail or Slack post) this long after everything finished, before the verdict. */
const QUIET_MS = 3_000;
/** Nothing moved for this long (five reconcile intervals) and nothing is in flight: what is stuck stays stuck. */
const STALL_MS = 150_000;

export class Aborted extends Error {}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Aborted('aborted'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new Aborted('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The store's URL with the proxy's port: the app reaches the store only through the proxy. */
const viaProxy = (url: string, port: number) => {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
};

/**
 * One chaos run: its own Redis, FerretDB, Dovecot, SMTP capture and Slack stand-in; the app as real processes
 * behind fault proxies; intake through webhooks, mail and Slack while the seeded faults happen; decisions as soon
 * as checkpoints appear; then the invariants, once every run had the recovery deadline to finish.
 */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'countersign-chaos-'));
  // Dovecot's processes run as the dovecot user and must pass through this folder to reach theirs.
  chmodSync(dir, 0o755);
  const closers: (() => Promise<unknown>)[] = [];
  let processes: AppProcesses | undefined;
  let ok = false;
  try {
    o.log(
      `chaos: seed ${o.seed}, ${o.runs} runs, ${o.schedule.durationMs / 1000} s of faults, ${o.workers} workers; files in ${dir}`,
    );
    const redis = await startChaosRedis({ dir: join(dir, 'redis') });
    closers.push(() => redis.close());
    const mongo = await startChaosFerretdb({ dir: join(dir, 'ferretdb'), database: 'chaos' });
    closers.push(() => mongo.close());
    const proxies = {
      mongo: await startFaultProxy({
        upstream: { host: '127.0.0.1', port: mongo.port },
        random: seededRandom(o.seed + 1),
      }),
      redis: await startFaultProxy({
        upstream: { host: '127.0.0.1', port: redis.port },
        random: seededRandom(o.seed + 2),
      }),
    };
    closers.push(
      () => proxies.mongo.close(),
      () => proxies.redis.close(),
    );
    const slack = await startSlackStandin();
    closers.push(() => slack.close());
    for (const p of [APPROVER, REPORTER]) slack.addUser(p);
    slack.addChannel(APPROVALS, [APPROVER.id]);
    slack.addChannel(SUPPORT, [REPORTER.id]);
    const smtp = await startSmtpCapture();
    closers.push(() => smtp.close());
    const mailbox = await startMailbox(join(dir, 'dovecot'));
    closers.push(() => mailbox.stop());
    await seedStore(mongo.url);

    const port = await ephemeralPort();
    const baseUrl = `http://127.0.0.1:${port}`;
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? tmpdir(),
      TMPDIR: tmpdir(),
      PORT: String(port),
      PUBLIC_URL: baseUrl,
      MONGODB_URI: viaProxy(mongo.url, proxies.mongo.port),
      REDIS_URL: viaProxy(redis.url, proxies.redis.port),
      ...SECRETS,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_API_URL: slack.url,
      SLACK_APPROVALS_CHANNEL: APPROVALS,
      SMTP_URL: smtp.url,
      MAIL_FROM,
      IMAP_URL: mailbox.url,
      APPROVER_EMAILS: APPROVER.email,
      AUTONOMY: 'manual',
      LOG_LEVEL: 'info',
    };
    processes = appProcesses({ dir, env, fromSource: o.fromSource });
    const procs = processes;
    procs.serve();
    for (let i = 0; i < o.workers; i++) procs.startWorker();
    const health = watchHealth(baseUrl, o.signal);
    closers.push(async () => health.stop());
    await waitFor('the app to answer /healthz', () => health.healthy() === true, 180_000, o.signal).catch((err) => {
      throw new Error(`${(err as Error).message}; last answer: ${health.last()}`);
    });
    o.log(`chaos: app up at ${baseUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    const observer = await observeStore(mongo.url);
    closers.push(() => observer.close());
    const report = await drive({
      o,
      baseUrl,
      proxies,
      services: { mongo, redis },
      slack,
      smtp,
      mailbox,
      procs,
      health,
      observer,
    });
    report.startedAt = new Date(started).toISOString();
    report.totalMs = Date.now() - started;
    report.logs = {
      dir,
      kept: !report.ok || o.keepDir,
      files: procs.logFiles(),
      unexpectedExits: procs
        .unexpectedExits()
        .map(
          (e) =>
            `${e.name} exited by itself at +${((e.at - started) / 1000).toFixed(1)} s (code ${e.code}, signal ${e.signal}): ${lastError(e.logFile)}`,
        ),
    };
    ok = report.ok;
    return report;
  } finally {
    processes?.killAll();
    for (const close of closers.reverse()) await close().catch(() => undefined);
    if (ok && !o.keepDir) rmSync(dir, { recursive: true, force: true });
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`chaos: timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(250, signal);
  }
}

interface Rig {
  o: ChaosOptions;
  baseUrl: string;
  proxies: Record<'mongo' | 'redis', FaultProxy>;
  services: Record<'mongo' | 'redis', ChaosService>;
  slack: SlackStandin;
  smtp: SmtpCapture;
  mailbox: Mailbox;
  procs: AppProcesses;
  health: HealthWatch;
  observer: Awaited<ReturnType<typeof observeStore>>;
}

/** Intake, faults and decisions at once; then the wait for every run to finish; then the verdict. */
async function drive(rig: Rig): Promise<ChaosReport> {
  const { o } = rig;
  const random = seededRandom(o.seed);
  const plan = channelPlan(random, o.runs);
  const decisionPlan = plan.map(() => ({
    decision: random() < REJECT_SHARE ? ('reject' as const) : ('approve' as const),
    channel: weighted(random(), DECISION_CHANNELS),
  }));
  const intakeGaps = plan.map(() => between(random, 0.5, 1.5));
  const windowMs = o.schedule.durationMs;
  const t0 = Date.now();
  const finalDeadline = t0 + windowMs + o.recoveryDeadlineMs;
  let latest: Snapshot | null = null;
  const inbound: InboundRecord[] = [];
  const decisions = new Map<string, DecisionRecord>();
  const inflight = new Set<Promise<unknown>>();
  const track = <T>(p: Promise<T>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    return p;
  };
  const timeline: TimelineSample[] = [];

  const progress = () => {
    const runs = latest?.runs ?? [];
    const disputes = runs.filter((r) => r.workflow === 'card-dispute');
    const withCheckpoint = new Set((latest?.checkpoints ?? []).map((c) => c.runId));
    return {
      started: disputes.length,
      atCheckpoint: disputes.filter((r) => withCheckpoint.has(r._id)).length,
      completed: disputes.filter((r) => r.status === 'completed').length,
      intakes: runs.filter((r) => r.workflow !== 'card-dispute').length,
      pending: disputes.filter((r) => !['completed', 'failed', 'cancelled'].includes(r.status)).length,
    };
  };
  const progressMark = () => {
    const p = progress();
    return p.started + p.atCheckpoint + p.completed + p.intakes;
  };
  const accepted = () => inbound.filter((m) => m.acceptedAt !== undefined).length;
  const outstanding = () => {
    const p = progress();
    return p.pending > 0 || p.started < accepted() || inbound.length < o.runs;
  };

  const faults: FaultRunner = runFaults({
    schedule: faultSchedule(o.seed, o.schedule),
    random: seededRandom(o.seed + 3),
    t0,
    proxies: rig.proxies,
    services: rig.services,
    procs: rig.procs,
    healthy: () => rig.health.healthy() === true,
    progressMark,
    outstanding,
    recoveryDeadline: finalDeadline,
    log: o.log,
    signal: o.signal,
  });

  // Intake: message i leaves at about i/N of the intake span, each on its own (a slow sender holds up no other).
  const intakeSpan = windowMs * INTAKE_SHARE;
  const intake = (async () => {
    for (let i = 0; i < o.runs; i++) {
      const at = t0 + ((i + (intakeGaps[i] ?? 1) - 0.5) / o.runs) * intakeSpan;
      await sleep(Math.max(0, at - Date.now()), o.signal);
      const channel = plan[i] ?? 'webhook';
      track(
        sendInbound(
          {
            baseUrl: rig.baseUrl,
            webhookSecret: SECRETS.WEBHOOK_SECRET,
            slackSigningSecret: SECRETS.SLACK_SIGNING_SECRET,
            slackChannel: SUPPORT,
            slackUser: REPORTER.id,
            appendMail: rig.mailbox.append,
            deadline: finalDeadline - 30_000,
          },
          { seed: o.seed, index: i, channel, random: seededRandom(o.seed * 1_000 + i) },
        ).then((rec) => inbound.push(rec)),
      );
    }
  })();

  const decide = (snapshot: Snapshot) => {
    const byKey = new Map<string, number>();
    for (const m of inbound) byKey.set(`${m.channel}|${m.sourceKey}`, m.index);
    for (const cp of snapshot.checkpoints) {
      if (cp.status !== 'pending' || decisions.has(cp._id)) continue;
      const run = snapshot.runs.find((r) => r._id === cp.runId);
      if (run?.workflow !== 'card-dispute') continue;
      const index = byKey.get(`${run.source?.channel}|${run.source?.key}`);
      const choice = decisionPlan[index ?? 0] ?? { decision: 'approve' as const, channel: 'api' as const };
      const placeholder: DecisionRecord = {
        checkpointId: cp._id,
        runId: cp.runId,
        planned: choice.channel,
        channel: choice.channel,
        decision: choice.decision,
        startedAt: Date.now(),
        attempts: 0,
        outcomes: [],
      };
      decisions.set(cp._id, placeholder);
      track(
        sendDecision(
          {
            baseUrl: rig.baseUrl,
            apiToken: SECRETS.COUNTERSIGN_API_TOKEN,
            appSecret: SECRETS.APP_SECRET,
            slackSigningSecret: SECRETS.SLACK_SIGNING_SECRET,
            slack: rig.slack,
            smtp: rig.smtp,
            approvalsChannel: APPROVALS,
            slackApprover: APPROVER.id,
            notifyTimeoutMs: 90_000,
            valuesOf: (id) => latest?.checkpoints.find((c) => c._id === id)?.values,
            deadline: () => finalDeadline - 10_000,
          },
          { checkpointId: cp._id, runId: cp.runId, planned: choice.channel, decision: choice.decision },
        ).then((rec) => decisions.set(cp._id, rec)),
      );
    }
  };

  // Watching: the store once a second (tolerating outages), a progress line every five.
  let lastLine = 0;
  let lastChange = Date.now();
  let lastSignature = '';
  const watch = async (until: () => boolean) => {
    while (!until()) {
      const readStarted = Date.now();
      const snap = await rig.observer.snapshot();
      const readMs = Date.now() - readStarted;
      if (snap) {
        latest = snap;
        decide(snap);
      }
      const p = progress();
      const signature = `${p.started}/${p.atCheckpoint}/${p.completed}/${p.intakes}/${rig.smtp.messages.length}/${rig.slack.messages.size}`;
      if (signature !== lastSignature) {
        lastSignature = signature;
        lastChange = Date.now();
      }
      timeline.push({
        ms: Date.now() - t0,
        started: p.started,
        atCheckpoint: p.atCheckpoint,
        completed: p.completed,
        healthy: rig.health.healthy(),
        faults: faults.active(),
      });
      if (Date.now() - lastLine >= 5_000) {
        lastLine = Date.now();
        const now = faults.active().join(', ') || 'none';
        o.log(
          `[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] disputes ${p.started} started, ${p.atCheckpoint} at checkpoint, ${p.completed} completed · inbound ${accepted()}/${o.runs} · decisions ${[...decisions.values()].filter((d) => d.landedAt).length} · healthz ${rig.health.healthy() ? 'ok' : 'DOWN'}${snap ? '' : ' · store unreadable'} · faults now: ${now}`,
        );
      }
      // The embedded store scans for every read: with hundreds of runs the driver's reads must not become the load.
      await sleep(Math.max(1_000, 3 * readMs), o.signal);
    }
  };

  await watch(() => Date.now() > t0 + windowMs && faults.injected());
  await intake;
  o.log(`chaos: fault window over after ${((Date.now() - t0) / 1000).toFixed(0)} s; waiting for every run to finish`);
  await faults.restoreAll();
  const settled = () => {
    const p = progress();
    const decisionsDone = [...decisions.values()].every((d) => d.landedAt !== undefined || d.gaveUp !== undefined);
    return (
      inbound.length === o.runs &&
      inflight.size === 0 &&
      p.started >= accepted() &&
      p.pending === 0 &&
      decisionsDone &&
      Date.now() - lastChange >= QUIET_MS
    );
  };
  const stalled = () => inflight.size === 0 && Date.now() - lastChange > STALL_MS;
  await watch(() => settled() || stalled() || Date.now() > finalDeadline);
  const timedOut = !settled();
  await faults.recovered();

  let final: Snapshot | null = null;
  for (let i = 0; i < 30 && !final; i++) {
    final = await rig.observer.snapshot();
    if (!final) await sleep(1_000, o.signal);
  }
  if (!final) throw new Error('chaos: the store could not be read at the end');
  const invariants = checkInvariants({
    inbound,
    t0,
    decisions: [...decisions.values()],
    snapshot: final,
    mails: rig.smtp.messages.map((m) => ({ messageId: m.messageId, effect: m.headers['x-countersign-effect'] })),
    slackPosts: rig.slack.callsTo('chat.postMessage').map((c) => ({
      channel: String(c.args.channel ?? ''),
      blocks: Array.isArray(c.args.blocks) ? c.args.blocks : [],
      ...(typeof c.args.thread_ts === 'string' ? { threadTs: c.args.thread_ts } : {}),
    })),
    approvalsChannel: APPROVALS,
    mailDomain: 'northwind.test',
  });
  const notes = [
    'app timings are the defaults users get (lease, lock and reconcile interval 30 s)',
    'Slack event retries compressed to 1 s, 15 s, 60 s (Slack: immediately, 1 min, 5 min)',
  ];
  if (timedOut) {
    notes.push(
      stalled()
        ? `stopped waiting at +${((Date.now() - t0) / 1000).toFixed(0)} s: nothing moved for ${STALL_MS / 1000} s with runs unfinished`
        : `not every run finished within the recovery deadline (${o.recoveryDeadlineMs / 1000} s)`,
    );
  }
  // The chart shows the window and the recovery, not the wait for a run that stayed stuck.
  const chartEnd = Math.max(windowMs, lastChange - t0) + 10_000;
  for (const r of rig.observer.refused()) notes.push(`store row not understood: ${r}`);
  return {
    seed: o.seed,
    sizes: { runs: o.runs, durationS: windowMs / 1000, workers: o.workers, short: o.short },
    settings: {
      RUN_LEASE_MS: 'default (30000)',
      WORKER_LOCK_MS: 'default (30000)',
      RECONCILE_INTERVAL_MS: 'default (30000)',
      OFFLINE_MODEL_LATENCY_MS: 'default (150)',
      AUTONOMY: 'manual',
      killEveryMs: String(o.schedule.killEveryMs),
      storeStopMs: String(o.schedule.storeStopMs),
      recoveryDeadlineS: String(o.recoveryDeadlineMs / 1000),
    },
    notes,
    startedAt: '',
    totalMs: 0,
    faults: faults.outcomes(),
    channels: channelCounts(inbound),
    decisions: decisionCounts([...decisions.values()]),
    invariants,
    ok: invariants.every((i) => i.ok),
    timeline: timeline.filter((t) => t.ms <= chartEnd),
    messages: inbound,
    decisionRecords: [...decisions.values()],
    logs: { dir: '', kept: true, files: [], unexpectedExits: [] },
  };
}

function weighted<T>(x: number, choices: readonly [T, number][]): T {
  let acc = 0;
  for (const [value, weight] of choices) {
    acc += weight;
    if (x < acc) return value;
  }
  return choices.at(-1)![0];
}
