import { performance } from 'node:perf_hooks';
import { encodeCursor } from '../src/console/runs-query.js';
import { createConsoleSessions, SESSION_COOKIE } from '../src/console/sessions.js';
import { seedRuns } from '../test/support/seed-runs.js';
import type { BenchApp } from './harness.js';
import { note } from './progress.js';
import type { PhaseResult, Row } from './report-types.js';
import { breakdown, mark, span, sum } from './requests.js';
import { count, fmt, percentile } from './stats.js';

/** Stop sampling one page after this long once it has MIN_SAMPLES: on the embedded store a page can take seconds. */
const BUDGET_MS = 60_000;
const MIN_SAMPLES = 10;
/** An address the bench's configuration lets sign in (APPROVER_EMAILS). */
const PERSON = 'approver@example.com';

export const CONSOLE_METHOD =
  'Console: `--console-runs` runs (default 10,000) written straight into the store on the bench connection, shaped as the engine writes them (the run, its journal: start, four agent steps with ends carrying two model calls and one to three tool calls each, the checkpoint step and its end, the reply step; the checkpoint; a cancel claim for cancelled runs), in batches of 500, spread over the 50 days before the last week (so the reconciler leaves them be). A console session is created directly (no sign-in mail). Then, one request at a time from this process over HTTP on localhost, `--console-requests` of each page (fewer when a page takes so long that 60 s pass, once it has 10): `GET /runs` (the first page), `GET /runs?workflow=card-dispute&status=waiting`, `GET /runs?before=<cursor>` 90 % deep into the list, and `GET /runs/:id` of random seeded runs. Time: from sending the request to the end of the body (localhost, so server time plus a loopback round trip). Store requests: the app’s own, per page, including the reconciler’s rounds that fell within it (it runs as in production, every 30 s; a steady round is one `wakeups.find`, one `runs.find` and two to three `checkpoints.find`), whose scans also compete with the page’s on the embedded store.';

interface Sample {
  ms: number;
  requests: ReturnType<typeof span>;
}

async function sample(b: BenchApp, cookie: string, path: () => string, wanted: number): Promise<Sample[]> {
  const out: Sample[] = [];
  const started = performance.now();
  while (out.length < wanted) {
    const from = mark(b.requests);
    const t0 = performance.now();
    const res = await fetch(`${b.baseUrl}${path()}`, { headers: { cookie } });
    const body = await res.text();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${path()} answered ${res.status}: ${body.slice(0, 300)}`);
    out.push({ ms, requests: span(b.requests, from) });
    if (out.length >= MIN_SAMPLES && performance.now() - started > BUDGET_MS) break;
  }
  return out;
}

function row(label: string, samples: Sample[], runs: number): Row {
  const times = samples.map((s) => s.ms);
  const total = sum(samples.map((s) => s.requests));
  return {
    metric: `Console ${label}, ${count(runs)} runs stored, p50 / p99`,
    value: `${fmt(percentile(times, 50))} / ${fmt(percentile(times, 99))}`,
    unit: 'ms',
    notes: `${samples.length} requests one at a time; store requests per page ${fmt(total.total / samples.length)} (${breakdown(total, samples.length)})`,
  };
}

/**
 * Phase 10: the console's runs list and run detail with `runs` runs stored (issue 12: p50/p99 server time with
 * 10,000 runs), and how many store requests each page costs.
 */
export async function measureConsole(b: BenchApp, runs: number, requests: number): Promise<PhaseResult> {
  const now = Date.now();
  const span50Days = 50 * 86_400_000;
  const base = new Date(now - 7 * 86_400_000 - span50Days);
  const seedStart = performance.now();
  let lastShown = 0;
  const seeded = await seedRuns(b.observer, {
    count: runs,
    base,
    spacingMs: Math.floor(span50Days / Math.max(1, runs)),
    batch: 500,
    onProgress: (done) => {
      if (done - lastShown >= runs / 10 || done === runs) {
        lastShown = done;
        note(`seeded ${count(done)} / ${count(runs)} runs (${fmt((performance.now() - seedStart) / 1000)} s)`);
      }
    },
  });
  const stored = await b.observer.runs.estimatedDocumentCount();
  const { cookie } = await createConsoleSessions(b.observer.connection, b.app.config.appSecret).create({
    email: PERSON,
    via: 'email-link',
    now: new Date(),
    ttlMs: 3_600_000,
  });
  const header = `${SESSION_COOKIE}=${cookie}`;
  const deepId = seeded.newestFirst[Math.floor(seeded.newestFirst.length * 0.9)] ?? '';
  const deep = seeded.byId.get(deepId);
  const cursor = deep ? encodeCursor({ createdAt: deep.createdAt, id: deepId }) : '';
  const pick = () => seeded.newestFirst[Math.floor(Math.random() * seeded.newestFirst.length)] ?? '';

  const pages: [string, () => string][] = [
    ['GET /runs (first page)', () => '/runs'],
    ['GET /runs?workflow&status (filtered)', () => '/runs?workflow=card-dispute&status=waiting'],
    ['GET /runs?before=… (cursor 90 % deep)', () => `/runs?before=${cursor}`],
    ['GET /runs/:id (random run)', () => `/runs/${pick()}`],
  ];
  const rows: Row[] = [];
  for (const [label, path] of pages) {
    note(`${label}: up to ${requests} requests`);
    const samples = await sample(b, header, path, requests);
    const r = row(label, samples, stored);
    note(`${r.metric}: ${r.value} ms; ${r.notes}`);
    rows.push(r);
  }
  return { rows, charts: [] };
}
