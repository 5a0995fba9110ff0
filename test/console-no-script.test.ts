import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { launchChromium } from './support/chromium.js';
import {
  CONSOLE_PEOPLE,
  consoleScreenshotPath,
  consoleSettings,
  pageWithAxe,
  seriousAxeViolations,
  signInBrowser,
} from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';

/**
 * The essentials without JavaScript: signing in, reading the inbox and a run, and deciding, in Chromium with scripts
 * off. The console's one script only refreshes live regions and asks before confirmed actions.
 */
let t: TestApp;

beforeAll(async () => {
  t = await startTestApp({
    label: 'console-noscript',
    env: { COUNTERSIGN_CONFIG: writeSettingsFile('console-noscript', consoleSettings()) },
  });
});

afterAll(async () => {
  await t?.close();
});

describe('the console without JavaScript', () => {
  it('signs in, reads the inbox and the run, and decides', async () => {
    const res = await t.webhook('card-dispute', {
      ...SAMPLE_DISPUTES.needsReview,
      customerEmail: 'noscript@example.com',
    });
    const { runId } = (await res.json()) as { runId: string };
    const waiting = await t.waitForRun(runId, hasPendingCheckpoint);
    const checkpointId = waiting.checkpoints.find((c) => c.status === 'pending')?.id ?? '';

    const browser = await launchChromium({ width: 1280, height: 800, javaScriptEnabled: false });
    try {
      const page = await browser.context.newPage();
      await signInBrowser(t, page, CONSOLE_PEOPLE.approver);
      expect(new URL(page.url()).pathname).toBe('/inbox');
      await page.locator(`a[href="/inbox/${checkpointId}"]`).first().click();
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForURL((url) => url.pathname === '/inbox');
      const decided = await t.waitForRun(runId, isFinished);
      expect(decided.checkpoints[0]?.decision).toMatchObject({ actor: CONSOLE_PEOPLE.approver, channel: 'console' });

      await page.goto(`${t.baseUrl}/runs/${runId}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toContain(runId);
      expect(await page.content()).toContain('card-dispute');
      expect(await page.content()).toContain('dispute-manager');
    } finally {
      await browser.close();
    }
  });

  it('the sign-in page passes axe, and keyboard focus reaches the form first', async () => {
    const browser = await launchChromium({ width: 1280, height: 800, javaScriptEnabled: true });
    try {
      const page = await pageWithAxe(browser.context);
      await page.goto(`${t.baseUrl}/login`);
      expect(await seriousAxeViolations(page)).toEqual([]);
      await page.keyboard.press('Tab');
      expect(await page.locator(':focus').textContent()).toBe('Skip to content');
      await page.screenshot({ path: consoleScreenshotPath('login', true) });
    } finally {
      await browser.close();
    }
  });
});
