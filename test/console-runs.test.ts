import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { modules } from '../compose.js';
import { INDEXES, moduleIndexes } from '../src/store/indexes.js';
import { logStoreRequests } from '../src/store/request-log.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { CONSOLE_PEOPLE, type ConsoleClient, consoleSettings, signInClient } from './support/console.js';
import { formatShapes, uncoveredShapes } from './support/index-coverage.js';
import { writeSettingsFile } from './support/refund-app.js';
import { type SeededRuns, seedRuns } from './support/seed-runs.js';

/**
 * The console's runs list and run detail over HTTP: 120 runs seeded straight into the store for the filters and
 * pages, and real card-dispute runs through the app (agents, a checkpoint decided with an edit) for the detail.
 */

let t: TestApp;
let viewer: ConsoleClient;
let admin: ConsoleClient;
let seeded: SeededRuns;
let completedRun: string;
let waitingRun: string;

const runIdsIn = (page: string) => [...page.matchAll(/<a href="\/runs\/(run_[A-Za-z0-9_]+)">/g)].map((m) => m[1]);
const linkIn = (page: string, rel: 'next' | 'prev') =>
  new RegExp(`href="(/runs\\?[^"]*)" rel="${rel}"`).exec(page)?.[1]?.replaceAll('&amp;', '&');
/** The part of a page between a heading and the next `<h2>`. */
const section = (page: string, heading: string) => {
  const from = page.indexOf(`<h2>${heading}</h2>`);
  if (from < 0) throw new Error(`no section ${heading}`);
  const to = page.indexOf('<h2>', from + 5);
  return page.slice(from, to < 0 ? undefined : to);
};

async function startDispute(): Promise<string> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  await t.waitForRun(runId, hasPendingCheckpoint);
  return runId;
}

beforeAll(async () => {
  t = await startTestApp({
    label: 'console-runs',
    env: {
      COUNTERSIGN_CONFIG: writeSettingsFile('console-runs', {
        console: { ...consoleSettings().console, redact: ['chargeId', 'cardNumber'] },
      }),
    },
  });
  seeded = await seedRuns(t.app.store, { count: 120, base: new Date('2026-03-01T00:00:00Z') });
  completedRun = await startDispute();
  waitingRun = await startDispute();
  const cp = (await t.app.engine.getRun(completedRun))?.checkpoints[0]?.id;
  const decided = await t.api(`/api/checkpoints/${cp}/decision`, {
    body: {
      decision: 'approve',
      actor: 'approver@example.com',
      comment: 'Shorter reply',
      edits: { reply: 'Dear Linus, we are refunding the full 89.00 EUR to your card today. Kind regards, Billing' },
    },
  });
  expect(decided.status).toBe(200);
  // A click that came too late: refused and audited.
  const late = await t.api(`/api/checkpoints/${cp}/decision`, {
    body: { decision: 'reject', actor: 'late@example.com' },
  });
  expect(late.status).toBe(409);
  await t.waitForRun(completedRun, isFinished);
  viewer = await signInClient(t, CONSOLE_PEOPLE.viewer);
  admin = await signInClient(t, CONSOLE_PEOPLE.admin);
}, 180_000);

afterAll(async () => {
  await t?.close();
});

describe('GET /runs', () => {
  it('lists every run newest first in pages of 50, with Older and Newer links that neither skip nor repeat', async () => {
    const first = await viewer.get('/runs');
    expect(first.status).toBe(200);
    const page1 = await first.text();
    const ids1 = runIdsIn(page1);
    expect(ids1).toHaveLength(50);
    expect(ids1.slice(0, 2).sort()).toEqual([completedRun, waitingRun].sort());
    expect(linkIn(page1, 'prev')).toBeUndefined();

    const page2 = await (await viewer.get(linkIn(page1, 'next') as string)).text();
    const ids2 = runIdsIn(page2);
    expect(ids2).toHaveLength(50);
    const page3 = await (await viewer.get(linkIn(page2, 'next') as string)).text();
    const ids3 = runIdsIn(page3);
    expect(ids3).toHaveLength(22);
    expect(linkIn(page3, 'next')).toBeUndefined();

    // Seeded runs share a creation time across the first page boundary: the id breaks the tie.
    const all = [...ids1, ...ids2, ...ids3];
    expect(new Set(all).size).toBe(122);
    expect(all.slice(2)).toEqual(seeded.newestFirst);

    const back = await (await viewer.get(linkIn(page2, 'prev') as string)).text();
    expect(runIdsIn(back)).toEqual(ids1);
    expect(linkIn(back, 'prev')).toBeUndefined();
  });

  it('filters by workflow, status, dates, customer, approver and search, keeping the filters on the page links', async () => {
    const ids = async (query: string) => {
      const res = await viewer.get(`/runs?${query}`);
      expect(res.status).toBe(200);
      return runIdsIn(await res.text());
    };
    expect(await ids('workflow=refund-request')).toEqual(
      seeded.newestFirst.filter((id) => seeded.byId.get(id)?.workflow === 'refund-request'),
    );
    expect(await ids('status=failed')).toEqual(
      seeded.newestFirst.filter((id) => seeded.byId.get(id)?.status === 'failed'),
    );
    expect(await ids('customer=cust3%40example.com')).toEqual(
      seeded.newestFirst.filter((id) => seeded.byId.get(id)?.customer === 'cust3@example.com'),
    );
    const inMarch = seeded.newestFirst.filter((id) => {
      const d = seeded.byId.get(id)?.createdAt.toISOString().slice(0, 10) ?? '';
      return d >= '2026-03-02' && d <= '2026-03-03';
    });
    expect(inMarch.length).toBeGreaterThan(10);
    expect(await ids('from=2026-03-02&to=2026-03-03')).toEqual(inMarch);
    expect(new Set(await ids(`approver=${encodeURIComponent(seeded.approver)}`))).toEqual(new Set(seeded.decidedBy));
    expect(await ids(`q=${completedRun}`)).toEqual([completedRun]);
    expect(await ids(`q=${completedRun.slice(0, -3)}`)).toContain(completedRun);
    expect(await ids('q=linus%40')).toEqual(expect.arrayContaining([completedRun, waitingRun]));
    expect(await ids('status=waiting&customer=linus%40example.com')).toEqual([waitingRun]);
    const none = await (await viewer.get('/runs?customer=nobody%40example.com')).text();
    expect(none).toContain('No runs match these filters');

    const failed = await (await viewer.get('/runs?status=completed')).text();
    const older = linkIn(failed, 'next');
    if (older) expect(older).toContain('status=completed');
  });

  it('shows status as a word, what a waiting run waits on and its cost', async () => {
    const page = await (await viewer.get(`/runs?q=${waitingRun}`)).text();
    expect(page).toMatch(/<span class="badge s-waiting">waiting<\/span>/);
    expect(page).toContain('1 checkpoint');
    const seededPage = await (await viewer.get(`/runs?q=${seeded.newestFirst[0]}`)).text();
    expect(seededPage).toContain('$0.0123');
  });

  it('answers 400 naming the field when the query string is wrong', async () => {
    const res = await viewer.get('/runs?from=2026-13-45&status=sleeping');
    expect(res.status).toBe(400);
    const page = await res.text();
    expect(page).toContain('Created from');
    expect(page).toContain('Status');
    expect(page).toContain('value="2026-13-45"');
    expect((await viewer.get('/runs?from=2026-03-05&to=2026-03-01')).status).toBe(400);
  });

  it('reads the store only through queries the index list serves', async () => {
    const log = logStoreRequests(t.app.store.connection.getClient());
    try {
      const pages = [
        '/runs',
        '/runs?workflow=card-dispute&status=waiting',
        '/runs?from=2026-03-02&to=2026-03-03&customer=cust1%40example.com',
        `/runs?approver=${encodeURIComponent(seeded.approver)}`,
        '/runs?q=cust',
        linkIn(await (await viewer.get('/runs')).text(), 'next') as string,
      ];
      for (const path of pages) {
        const before = log.requests().filter((r) => r.collection !== 'console_sessions').length;
        expect((await viewer.get(path)).status).toBe(200);
        const mine = log.requests().filter((r) => r.collection !== 'console_sessions').length - before;
        expect(mine).toBeGreaterThanOrEqual(1);
      }
      const uncovered = uncoveredShapes(
        log.requests().filter((r) => ['runs', 'steps', 'checkpoints'].includes(r.collection)),
        [...INDEXES, ...moduleIndexes(modules)],
      );
      expect(uncovered, formatShapes(uncovered)).toEqual([]);
    } finally {
      log.stop();
    }
  });

  it('sends signed-out visitors to sign in', async () => {
    const res = await fetch(`${t.baseUrl}/runs`, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/login?next=%2Fruns');
  });
});

describe('GET /runs/:id', () => {
  it('shows the three specialists, the manager, the checkpoint and the side effects on a timeline and in the steps table', async () => {
    const res = await viewer.get(`/runs/${completedRun}`);
    expect(res.status).toBe(200);
    const page = await res.text();
    expect(page).toContain('<svg');
    const steps = section(page, 'Steps');
    for (const name of [
      'evidence-collector',
      'account-risk',
      'language-analyst',
      'dispute-manager',
      'review',
      'send-reply',
    ])
      expect(steps).toContain(`<th scope="row">${name}</th>`);
    const timeline = section(page, 'Timeline');
    for (const name of ['evidence-collector', 'account-risk', 'language-analyst', 'dispute-manager'])
      expect(timeline).toContain(`>${name}</text>`);
    expect(page).toContain('data-live-done');
    expect(page).not.toContain('data-live-url');
  });

  it('lists every model call with tokens, cost and latency', async () => {
    const run = await t.app.engine.getRunDetail(completedRun);
    const calls = section(await (await viewer.get(`/runs/${completedRun}`)).text(), 'Model calls');
    expect(run?.modelCalls.length).toBeGreaterThanOrEqual(4);
    const rows = calls.match(/<tr><td>/g) ?? [];
    expect(rows).toHaveLength(run?.modelCalls.length ?? -1);
    for (const agent of ['evidence-collector', 'account-risk', 'language-analyst', 'dispute-manager'])
      expect(calls).toContain(`<td>${agent}</td>`);
    const first = run?.modelCalls[0];
    expect(calls).toContain(`<td class="num">${first?.inputTokens.toLocaleString('en-US')}</td>`);
    expect(calls).toContain('$0.0000');
  });

  it('lists tool calls with their arguments, masking the fields the configuration names', async () => {
    const tools = section(await (await viewer.get(`/runs/${completedRun}`)).text(), 'Tool calls');
    expect(tools).toContain('get_charge');
    expect(tools).toContain('&quot;chargeId&quot;: &quot;•••• (redacted)&quot;');
    expect(tools).not.toContain('ch_3001');
    expect(tools).toContain('linus@example.com');
  });

  it("shows the checkpoint's decision, the edit as a word diff and the refused click", async () => {
    const cps = section(await (await viewer.get(`/runs/${completedRun}`)).text(), 'Checkpoints');
    expect(cps).toContain('approver@example.com');
    expect(cps).toContain('Shorter reply');
    expect(cps).toMatch(/<th scope="row">reply<\/th>/);
    expect(cps).toMatch(/<ins><span class="sr-only">added: <\/span>/);
    expect(cps).toMatch(/<del><span class="sr-only">removed: <\/span>/);
    expect(cps).toContain('late@example.com');
    expect(cps).toContain('already_decided');
  });

  it('refreshes an unfinished run through its live fragment, with ETags', async () => {
    const page = await (await viewer.get(`/runs/${waitingRun}`)).text();
    expect(page).toContain(`data-live-url="/runs/${waitingRun}/live"`);
    const live = await viewer.get(`/runs/${waitingRun}/live`);
    expect(live.status).toBe(200);
    const body = await live.text();
    expect(body).not.toContain('data-live-done');
    expect(body).toContain('badge s-waiting');
    const etag = live.headers.get('etag') ?? '';
    const again = await viewer.get(`/runs/${waitingRun}/live`, { 'if-none-match': etag });
    expect([200, 304]).toContain(again.status);
    expect(await (await viewer.get(`/runs/${completedRun}/live`)).text()).toContain('data-live-done');
  });

  it('answers 404 for an unknown run', async () => {
    expect((await viewer.get('/runs/run_nope')).status).toBe(404);
    expect((await viewer.get('/runs/run_nope/live')).status).toBe(404);
  });
});

describe('run actions', () => {
  it('refuses a viewer who tries to cancel, with 403, and the run goes on waiting', async () => {
    expect((await viewer.get(`/runs/${waitingRun}/cancel`)).status).toBe(403);
    const res = await viewer.post(`/runs/${waitingRun}/cancel`, { reason: 'no' });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('Nothing was changed');
    expect((await t.app.engine.getRun(waitingRun))?.status).toBe('waiting');
    expect(await (await viewer.get(`/runs/${waitingRun}`)).text()).not.toContain('Cancel run');
  });

  it('refuses an admin form without its CSRF token, and the run goes on waiting', async () => {
    const res = await admin.post(`/runs/${waitingRun}/cancel`, { _csrf: 'forged', reason: 'x' });
    expect(res.status).toBe(403);
    expect((await t.app.engine.getRun(waitingRun))?.status).toBe('waiting');
  });

  it('shows an admin what cancelling does before a confirmed form does it', async () => {
    const detail = await (await admin.get(`/runs/${waitingRun}`)).text();
    expect(detail).toContain(`href="/runs/${waitingRun}/cancel"`);
    const confirm = await admin.get(`/runs/${waitingRun}/cancel`);
    expect(confirm.status).toBe(200);
    const page = await confirm.text();
    expect(page).toContain('1 pending checkpoint is cancelled');
    expect(page).toMatch(/<form method="post" action="\/runs\/[^"]+\/cancel" data-confirm="/);
    expect((await t.app.engine.getRun(waitingRun))?.status).toBe('waiting');
    expect((await admin.get(`/runs/${completedRun}/cancel`)).status).toBe(409);
  });

  it('refuses to offer a retry of a step that did not fail, and a viewer any retry', async () => {
    expect((await admin.get(`/runs/${completedRun}/steps/send-reply/retry`)).status).toBe(409);
    expect((await admin.get(`/runs/${completedRun}/steps/nope/retry`)).status).toBe(404);
    expect((await viewer.get(`/runs/${seeded.failedRun}/steps/${seeded.failedStep}/retry`)).status).toBe(403);
    const refused = await viewer.post(`/runs/${seeded.failedRun}/steps/${seeded.failedStep}/retry`, {});
    expect(refused.status).toBe(403);
    const confirm = await admin.get(`/runs/${seeded.failedRun}/steps/${seeded.failedStep}/retry`);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('failed after 3 attempts');
    const detail = await (await admin.get(`/runs/${seeded.failedRun}`)).text();
    expect(detail).toContain(`href="/runs/${seeded.failedRun}/steps/${seeded.failedStep}/retry"`);
  });

  // Needs src/engine/run-actions.ts (cancelRun) from the engine-actions helper.
  it('cancels a waiting run for an admin, records who and why, and shows it', async () => {
    const runId = await startDispute();
    const res = await admin.post(`/runs/${runId}/cancel`, { reason: 'customer withdrew the dispute' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe(`/runs/${runId}?done=cancelled`);
    await t.waitForRun(runId, (r) => r.status === 'cancelled');
    const run = await t.app.engine.getRunDetail(runId);
    expect(run?.cancelled?.actor).toBe(CONSOLE_PEOPLE.admin);
    const page = await (await admin.get(`/runs/${runId}?done=cancelled`)).text();
    expect(page).toContain('The run was cancelled');
    expect(page).toContain('customer withdrew the dispute');
  });
});
