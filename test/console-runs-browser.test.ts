import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import type { launchChromium } from './support/chromium.js';
import {
  CONSOLE_PEOPLE,
  consoleBrowser,
  consoleScreenshotPath,
  consoleSettings,
  expectAccessible,
  signInBrowser,
} from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';
import { seedRuns } from './support/seed-runs.js';

let t: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;

beforeAll(async () => {
  t = await startTestApp({
    label: 'runs-browser',
    env: {
      COUNTERSIGN_CONFIG: writeSettingsFile('console-runs-browser', {
        ...consoleSettings(),
        workflows: { 'card-dispute': { autonomy: 'manual' } },
      }),
    },
  });
  await seedRuns(t.app.store, { count: 40, base: new Date('2026-03-01T00:00:00Z') });
  ({ browser, page } = await consoleBrowser());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function waitingDispute(): Promise<{ runId: string; checkpointId: string }> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
  const { runId } = (await res.json()) as { runId: string };
  const run = await t.waitForRun(runId, hasPendingCheckpoint);
  return { runId, checkpointId: run.checkpoints[0]?.id ?? '' };
}

async function approve(checkpointId: string, edits: Record<string, unknown> = {}) {
  const res = await t.api(`/api/checkpoints/${checkpointId}/decision`, {
    body: { decision: 'approve', actor: 'approver@example.com', edits },
  });
  expect(res.status).toBe(200);
}

describe('runs in a real browser', () => {
  it('filters the runs list and opens a run’s timeline', async () => {
    const done = await waitingDispute();
    await approve(done.checkpointId, {
      reply: 'Dear Linus, we are refunding the full 89.00 EUR to your card today. Kind regards, Billing',
    });
    await t.waitForRun(done.runId, isFinished);
    await waitingDispute();

    await signInBrowser(t, page, CONSOLE_PEOPLE.admin);
    await page.goto(`${t.baseUrl}/runs`);
    await page.getByRole('heading', { name: 'Runs', exact: true }).waitFor();
    await expectAccessible(page);
    await page.screenshot({ path: consoleScreenshotPath('runs', true), fullPage: false });

    await page.getByLabel('Workflow').selectOption('card-dispute');
    await page.getByLabel('Status').selectOption('completed');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/status=completed/);
    const link = page.getByRole('link', { name: done.runId });
    await link.waitFor();
    expect(await page.locator('tbody .badge').allTextContents()).toEqual(expect.arrayContaining(['completed']));
    expect(new Set(await page.locator('tbody .badge').allTextContents())).toEqual(new Set(['completed']));

    await link.click();
    await page.getByRole('heading', { name: `Run ${done.runId}` }).waitFor();
    const figure = page.getByRole('img', { name: "Timeline of the run's steps" });
    await figure.waitFor();
    for (const agent of ['evidence-collector', 'account-risk', 'language-analyst', 'dispute-manager'])
      await page.getByRole('rowheader', { name: agent, exact: true }).waitFor();
    await expectAccessible(page);
    await page.getByRole('heading', { name: 'Timeline' }).evaluate((h) => h.scrollIntoView());
    await page.screenshot({ path: consoleScreenshotPath('run-detail', true), fullPage: false });
  });

  it('updates a waiting run’s page without a reload when it is decided', async () => {
    const waiting = await waitingDispute();
    await page.goto(`${t.baseUrl}/runs/${waiting.runId}`);
    const region = page.locator(`[data-live-url="/runs/${waiting.runId}/live"]`);
    await region.locator('.badge.s-waiting').first().waitFor();
    await approve(waiting.checkpointId);
    await t.waitForRun(waiting.runId, isFinished);
    await region.locator('[data-live-done] dd .badge.s-completed').waitFor({ timeout: 60_000 });
  });
});
