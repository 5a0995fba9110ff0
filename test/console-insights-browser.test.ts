import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES, type SampleName } from '../agents/disputes/samples.js';
import { renderEvalReport } from '../src/evals/report-html.js';
import { saveEvalRun } from '../src/evals/store.js';
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
import { evalRunFixture } from './support/eval-run-fixture.js';
import { RAISE_ID, seedEarlierDecisions } from './support/insights.js';
import { writeSettingsFile } from './support/refund-app.js';

let t: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;

async function decided(name: SampleName, decision: 'approve' | 'reject', actor: string): Promise<void> {
  const res = await t.webhook('card-dispute', SAMPLE_DISPUTES[name]);
  const { runId } = (await res.json()) as { runId: string };
  const run = await t.waitForRun(runId, hasPendingCheckpoint);
  const decide = await t.api(`/api/checkpoints/${run.checkpoints[0]?.id}/decision`, {
    body: { decision, actor, comment: 'checked' },
  });
  expect(decide.status).toBe(200);
  await t.waitForRun(runId, isFinished);
}

beforeAll(async () => {
  t = await startTestApp({
    label: 'insights-browser',
    env: {
      AUTONOMY: 'assisted',
      COUNTERSIGN_CONFIG: writeSettingsFile('console-insights-browser', {
        ...consoleSettings(),
        workflows: { 'card-dispute': { autonomy: 'shadow' } },
      }),
    },
  });
  await seedEarlierDecisions(t.app.store, 400);
  const fixture = evalRunFixture();
  await saveEvalRun(t.app.store, fixture, await renderEvalReport(fixture));
  await Promise.all([
    decided('clearAccept', 'approve', CONSOLE_PEOPLE.approver),
    decided('clearReject', 'approve', 'second@example.com'),
    decided('needsReview', 'approve', CONSOLE_PEOPLE.approver),
  ]);
  // One left waiting, so the queue section has something to count.
  const waiting = await t.webhook('card-dispute', SAMPLE_DISPUTES.needsReview);
  await t.waitForRun(((await waiting.json()) as { runId: string }).runId, hasPendingCheckpoint);
  ({ browser, page } = await consoleBrowser());
  await signInBrowser(t, page, CONSOLE_PEOPLE.admin);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('insights and evals in a real browser', () => {
  it('draws every insights chart visibly, with its name, and passes axe', async () => {
    await page.goto(`${t.baseUrl}/insights?days=7`);
    await page.getByRole('heading', { name: 'Insights', level: 1 }).waitFor();
    const charts = page.locator('svg[role="img"]');
    expect(await charts.count()).toBe(6);
    for (const chart of await charts.all()) {
      await chart.scrollIntoViewIfNeeded();
      const box = await chart.boundingBox();
      expect(box?.width ?? 0).toBeGreaterThan(200);
      expect(box?.height ?? 0).toBeGreaterThan(80);
      expect(await chart.getAttribute('aria-label')).toMatch(/chart|Histogram/);
    }
    await expectAccessible(page);
    await page.locator('#volume').evaluate((heading) => heading.scrollIntoView());
    await page.screenshot({ path: consoleScreenshotPath('insights', true), fullPage: false });
    // A data table opens under its chart, and is as accessible as the rest.
    await page.getByText('Data table', { exact: false }).first().click();
    await expect.poll(() => page.locator('details[open] table').count()).toBe(1);
    await expectAccessible(page);
  });

  it('changes the period with the filter form (a plain GET)', async () => {
    await page.getByLabel('Period', { exact: true }).selectOption('90');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL(/days=90/);
    await page.getByText('Last 90 days (UTC)').waitFor();
  });

  it('lists eval runs, opens a report, and applies a recommendation after confirming', async () => {
    await page.goto(`${t.baseUrl}/evals`);
    await page.getByRole('heading', { name: 'Evals and the autonomy boundary' }).waitFor();
    await expectAccessible(page);
    await page.screenshot({ path: consoleScreenshotPath('evals', true), fullPage: false });

    await page.getByRole('link', { name: /report of eval-2026-05-01/ }).click();
    await page.getByRole('heading', { name: 'Eval report: card-dispute' }).waitFor();
    await page.getByRole('link', { name: '← Back to evals in the console' }).click();
    await page.getByRole('heading', { name: 'Evals and the autonomy boundary' }).waitFor();

    page.once('dialog', (dialog) => void dialog.accept());
    await page.locator(`form:has(input[value="${RAISE_ID}"]) button`).click();
    await page.getByText(`recorded as applied by ${CONSOLE_PEOPLE.admin}`).waitFor();
    await expect.poll(async () => (await page.locator('form[action="/evals/autonomy/revoke"]').count()) > 0).toBe(true);
  });
});
