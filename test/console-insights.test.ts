import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES, type SampleName } from '../agents/disputes/samples.js';
import { modules } from '../compose.js';
import type { RunView } from '../src/engine/types.js';
import { renderEvalReport } from '../src/evals/report-html.js';
import { saveEvalRun } from '../src/evals/store.js';
import { INDEXES, moduleIndexes } from '../src/store/indexes.js';
import { logStoreRequests } from '../src/store/request-log.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { CONSOLE_PEOPLE, type ConsoleClient, consoleSettings, signInClient } from './support/console.js';
import { evalRunFixture } from './support/eval-run-fixture.js';
import { formatShapes, uncoveredShapes } from './support/index-coverage.js';
import { RAISE_ID, seedEarlierDecisions } from './support/insights.js';
import { writeSettingsFile } from './support/refund-app.js';

/*
 * The insights and evals pages through the real app: card disputes run at `shadow` under an `assisted` ceiling, a
 * few are decided by two people through the API, and 400 earlier decisions on clear duplicates (kept by people)
 * give the boundary enough evidence to recommend raising that slice, which only an admin may apply.
 */

const SECOND = 'second@example.com';
const SEEDED = 400;

let t: TestApp;
let viewer: ConsoleClient;
let admin: ConsoleClient;

async function startSample(name: SampleName): Promise<RunView> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES[name]);
  expect(res.status).toBe(202);
  const { runId } = (await res.json()) as { runId: string };
  return t.waitForRun(runId, hasPendingCheckpoint);
}

async function decide(run: RunView, decision: 'approve' | 'reject', actor: string): Promise<void> {
  const res = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, {
    body: { decision, actor, comment: 'checked in the test' },
  });
  expect(res.status).toBe(200);
  await t.waitForRun(run.id, isFinished);
}

interface GrantJson {
  id: string;
  appliedBy: string;
  revokedBy: string | null;
}
async function boundary(): Promise<{
  overrides: { grant: GrantJson | null }[];
  revoked: GrantJson[];
  recommendations: { id: string }[];
}> {
  const res = await t.api('/api/autonomy?workflow=card-dispute');
  expect(res.status).toBe(200);
  const body = (await res.json()) as { workflows: Awaited<ReturnType<typeof boundary>>[] };
  const wf = body.workflows[0];
  if (!wf) throw new Error('no card-dispute boundary');
  return wf;
}

beforeAll(async () => {
  t = await startTestApp({
    label: 'console-insights',
    env: {
      AUTONOMY: 'assisted',
      COUNTERSIGN_CONFIG: writeSettingsFile('console-insights', {
        ...consoleSettings(),
        workflows: { 'card-dispute': { autonomy: 'shadow' } },
      }),
    },
  });
  await seedEarlierDecisions(t.app.store, SEEDED);
  const fixture = evalRunFixture();
  await saveEvalRun(t.app.store, fixture, await renderEvalReport(fixture));

  const [first, second, third] = await Promise.all([
    startSample('clearAccept'),
    startSample('clearReject'),
    startSample('clearAccept'),
  ]);
  await startSample('needsReview');
  if (!first || !second || !third) throw new Error('runs did not start');
  await decide(first, 'approve', CONSOLE_PEOPLE.approver);
  await decide(second, 'approve', SECOND);
  await decide(third, 'reject', CONSOLE_PEOPLE.approver);
  [viewer, admin] = await Promise.all([signInClient(t, CONSOLE_PEOPLE.viewer), signInClient(t, CONSOLE_PEOPLE.admin)]);
}, 180_000);

afterAll(async () => {
  await t?.close();
});

async function csv(path: string): Promise<{ res: Response; lines: string[] }> {
  const res = await viewer.get(path);
  return { res, lines: (await res.text()).trimEnd().split('\r\n') };
}

describe('GET /insights', () => {
  let page = '';
  let res: Response;
  beforeAll(async () => {
    res = await viewer.get('/insights?days=7');
    page = await res.text();
  });

  it('shows six charts as accessible SVG, each with a data table and PNG and CSV downloads', () => {
    expect(res.status).toBe(200);
    expect(page.match(/<svg role="img" aria-label="[^"]+"/g)).toHaveLength(6);
    expect(page.match(/<details><summary>Data table/g)).toHaveLength(6);
    expect(page).toContain('href="/insights/charts/runs-per-day.png?days=7"');
    expect(page).toContain('href="/insights/charts/agreement.csv?days=7"');
    expect(page).toMatch(/Stacked bar chart\. Runs per day by workflow and outcome[^"]*: 4 runs in all/);
  });

  it('keeps to the console policy: no inline style attribute and no inline script', () => {
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(page).not.toMatch(/\sstyle="/);
    expect(page.match(/<script[^>]*>/g)).toEqual([
      expect.stringMatching(/<script src="\/console\/assets\/console-\w+\.js" defer>/),
    ]);
  });

  it('shows the boundary with the recommendation, the queues and the waiting work', () => {
    expect(page).toContain('accept/≥0.9/≤50');
    expect(page).toContain('RAISE');
    expect(page).toMatch(/<strong>1<\/strong> run waiting · <strong>1<\/strong> checkpoint pending a person/);
    expect(page).toContain('data-live-url="/insights/live"');
    // Viewers read the boundary here; acting on it is the Evals page's, for admins.
    expect(page).not.toContain('action="/evals/autonomy/apply"');
  });
});

describe('chart downloads', () => {
  it('serves runs per day as CSV: a header, one row per day, workflow and outcome, the runs summing up', async () => {
    const { res, lines } = await csv('/insights/charts/runs-per-day.csv?days=7&workflow=card-dispute');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(res.headers.get('content-disposition')).toMatch(
      /^attachment; filename="countersign-runs-per-day-7d-card-dispute-\d{4}-\d{2}-\d{2}\.csv"$/,
    );
    expect(lines[0]).toBe('day,workflow,outcome,runs');
    const rows = lines.slice(1).map((l) => l.split(','));
    expect(rows.reduce((s, r) => s + Number(r[3]), 0)).toBe(4);
    const outcomes = new Map(rows.map((r) => [r[2], Number(r[3])]));
    expect(outcomes.get('waiting')).toBe(1);
    expect(outcomes.get('rejected')).toBe(1);
    expect((outcomes.get('accept') ?? 0) + (outcomes.get('reject') ?? 0)).toBe(2);
  });

  it('serves time to decision by approver with each person who decided', async () => {
    const { lines } = await csv('/insights/charts/decision-time-by-approver.csv?days=30');
    expect(lines[0]).toBe('approver,decisions,p50_seconds,p90_seconds');
    const byApprover = new Map(lines.slice(1).map((l) => [l.split(',')[0], Number(l.split(',')[1])]));
    expect(byApprover.get(CONSOLE_PEOPLE.approver)).toBe(2);
    expect(byApprover.get(SECOND)).toBe(1);
  });

  it('serves cost by agent and model from the model calls, and agreement by kind of case', async () => {
    const cost = await csv('/insights/charts/cost-by-agent-model.csv?days=7');
    expect(cost.lines[0]).toBe('agent,model,calls,cost_usd,input_tokens,output_tokens');
    expect(cost.lines.slice(1).map((l) => l.split(',')[0])).toContain('dispute-manager');
    const agreement = await csv('/insights/charts/agreement.csv?days=7');
    expect(agreement.lines[0]).toBe('workflow,proposed,compared,agreed,rate');
    // The earlier decisions and the three of this test, all on clear proposals.
    expect(agreement.lines).toContainEqual(
      expect.stringMatching(new RegExp(`^card-dispute,all cases,${SEEDED + 3},\\d+,`)),
    );
  });

  it('serves a chart as a PNG on white at a sane size', async () => {
    const res = await viewer.get('/insights/charts/runs-per-day.png?days=30');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename=".+\.png"$/);
    const png = Buffer.from(await res.arrayBuffer());
    expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(png.length).toBeGreaterThan(10_000);
    expect(png.length).toBeLessThan(2_000_000);
    // Width and height from the IHDR chunk: twice the SVG's size.
    expect(png.readUInt32BE(16)).toBeGreaterThan(600);
    expect(png.readUInt32BE(20)).toBeGreaterThan(300);
  });

  it('refuses a period it does not offer, an unknown workflow and an unknown chart', async () => {
    const period = await viewer.get('/insights?days=14');
    expect(period.status).toBe(400);
    expect(await period.text()).toContain('7, 30 or 90 days');
    expect((await viewer.get('/insights?workflow=nope')).status).toBe(400);
    expect((await viewer.get('/insights/charts/runs-per-day.csv?days=12')).status).toBe(400);
    expect((await viewer.get('/insights/charts/pie.png')).status).toBe(404);
  });
});

describe('GET /insights/live', () => {
  it('answers the queue fragment with an ETag, then 304 while nothing changed', async () => {
    const first = await viewer.get('/insights/live');
    expect(first.status).toBe(200);
    expect(await first.text()).toContain('<th scope="col">Queue</th>');
    const etag = first.headers.get('etag') ?? '';
    expect(etag).not.toBe('');
    expect((await viewer.get('/insights/live', { 'if-none-match': etag })).status).toBe(304);
  });
});

describe('GET /evals', () => {
  it('lists the stored eval run with agreement, guardrails, cost, model, dataset and gate', async () => {
    const res = await viewer.get('/evals');
    expect(res.status).toBe(200);
    const page = await res.text();
    const fixture = evalRunFixture();
    expect(page).toContain(`href="/evals/${fixture.id}"`);
    expect(page).toContain('gpt-4.1-mini');
    expect(page).toContain('sha256:9f2c');
    expect(page).toContain('✗ failed');
    expect(page).toMatch(/✗ 1 of \d+ failed/);
    expect(page).toContain('Only an admin may apply');
    expect(page).not.toContain('action="/evals/autonomy/apply"');
  });

  it('serves the stored report under its own strict policy, with a way back', async () => {
    const res = await viewer.get(`/evals/${evalRunFixture().id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'/);
    const report = await res.text();
    expect(report).toContain('<a href="/evals">← Back to evals in the console</a>');
    expect(report).toContain('Eval report: card-dispute');
    expect(report).not.toContain('/console/assets/');
    expect((await viewer.get('/evals/no-such-run')).status).toBe(404);
  });
});

describe('moving the boundary from the console', () => {
  it('refuses a viewer with 403 and records nothing', async () => {
    const res = await viewer.post('/evals/autonomy/apply', { recommendation: RAISE_ID });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('needs the admin role');
    expect((await boundary()).overrides).toEqual([]);
  });

  it('refuses an admin form without this session’s token', async () => {
    const res = await admin.post('/evals/autonomy/apply', { recommendation: RAISE_ID, _csrf: 'forged' });
    expect(res.status).toBe(403);
    expect((await boundary()).overrides).toEqual([]);
  });

  it('applies a recommendation as a grant recorded with the signed-in admin, once', async () => {
    const page = await (await admin.get('/evals')).text();
    expect(page).toContain(`name="recommendation" value="${RAISE_ID}"`);
    expect(page).toContain('data-confirm="Apply: raise accept/≥0.9/≤50');
    const res = await admin.post('/evals/autonomy/apply', { recommendation: RAISE_ID });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toMatch(/^\/evals\?applied=grant-/);
    const grants = (await boundary()).overrides.map((o) => o.grant);
    expect(grants).toEqual([expect.objectContaining({ appliedBy: CONSOLE_PEOPLE.admin })]);
    const notice = await (await admin.get(res.headers.get('location') ?? '')).text();
    expect(notice).toContain(`applied, recorded as applied by ${CONSOLE_PEOPLE.admin}`);

    const again = await admin.post('/evals/autonomy/apply', { recommendation: RAISE_ID });
    expect(again.status).toBe(404);
    expect(await again.text()).toContain('Nothing was changed.');
    expect((await boundary()).overrides).toHaveLength(1);
  });

  it('revokes the grant as the signed-in admin, and refuses a second revocation with 409', async () => {
    const grant = (await boundary()).overrides[0]?.grant;
    if (!grant) throw new Error('no grant to revoke');
    expect((await viewer.post('/evals/autonomy/revoke', { grant: grant.id })).status).toBe(403);
    const res = await admin.post('/evals/autonomy/revoke', { grant: grant.id });
    expect(res.status).toBe(303);
    const after = await boundary();
    expect(after.overrides).toEqual([]);
    expect(after.revoked).toEqual([expect.objectContaining({ id: grant.id, revokedBy: CONSOLE_PEOPLE.admin })]);
    const twice = await admin.post('/evals/autonomy/revoke', { grant: grant.id });
    expect(twice.status).toBe(409);
    expect(await twice.text()).toContain('already revoked');
  });
});

describe('store requests', () => {
  it('reads a handful of indexed queries per insights page, whatever the period', async () => {
    // Alone: the workers and the reconciler would add their own requests to the count.
    await t.workers?.close();
    // A reconciler round may still be running; this one starts after it and ends when both have.
    await t.workers?.reconcileNow();
    const log = logStoreRequests(t.app.store.connection.getClient());
    const res = await viewer.get('/insights?days=90');
    expect(res.status).toBe(200);
    const page = log.requests().filter((r) => r.command !== 'getMore').length;
    const byCollection = Object.fromEntries(log.byCollection());
    const seen = [...log.requests()];
    log.reset();
    expect((await viewer.get('/insights/charts/cost-per-run.csv?days=90')).status).toBe(200);
    const oneChart = log.count();
    const uncovered = uncoveredShapes([...seen, ...log.requests()], [...INDEXES, ...moduleIndexes(modules)]);
    log.stop();
    console.info(`store requests: /insights ${page} ${JSON.stringify(byCollection)}; one chart's CSV ${oneChart}`);
    expect(uncovered, `query shapes no index serves:\n${formatShapes(uncovered)}`).toEqual([]);
    // Session 1, chart sources 4, waiting counts 2, the boundary 4 for the one workflow decided (cursor batches aside).
    expect(page).toBeLessThanOrEqual(11);
    expect(oneChart).toBeLessThanOrEqual(2);
  });
});
