import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formUploadModel } from '../src/console/uploads.js';
import { startTestApp, type TestApp } from './support/app.js';
import type { launchChromium } from './support/chromium.js';
import {
  CONSOLE_PEOPLE,
  consoleBrowser,
  consoleScreenshotPath,
  consoleSettings,
  expectAccessible,
  publicFormLink,
  signInBrowser,
} from './support/console.js';
import { writeSettingsFile } from './support/refund-app.js';

let t: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;

beforeAll(async () => {
  t = await startTestApp({
    label: 'forms-browser',
    env: { COUNTERSIGN_CONFIG: writeSettingsFile('console-forms-browser', consoleSettings()) },
  });
  ({ browser, page } = await consoleBrowser());
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

async function fillDispute(name: string) {
  await page.getByLabel('Customer email').fill('dana@example.com');
  await page.getByLabel('Customer name').fill(name);
  await page.getByLabel('Charge id').fill('ch_1001');
  await page.getByLabel('Amount').fill('49.00');
  await page.getByLabel('Currency').fill('EUR');
  await page.getByLabel('Reason').fill('duplicate');
  await page.getByLabel('Description').fill('I was charged twice for the same order on the same day.');
}

/** Waits until the live region shows the run waiting for a person, and says whether the script had to update it. */
async function waitForPerson(): Promise<boolean> {
  const first = await page.locator('.progress-status [data-state]').getAttribute('data-state');
  await page.locator('.progress-status [data-state="waiting-person"]').waitFor({ timeout: 90_000 });
  return first !== 'waiting-person';
}

describe('intake form in a browser', () => {
  it('lets a signed-in person fill the form, attach a file, send it and watch the run reach a person', async () => {
    await signInBrowser(t, page, CONSOLE_PEOPLE.viewer);
    await page.goto(`${t.baseUrl}/forms`);
    await page.getByRole('link', { name: 'Open the card-dispute form' }).click();
    await page.getByRole('heading', { name: 'card-dispute' }).waitFor();
    await fillDispute('Browser Dana');
    const statement = Buffer.from('Order 1234 was paid twice on 2026-11-02; bank lines below.\n');
    await page.getByLabel('Files').setInputFiles({ name: 'statement.txt', mimeType: 'text/plain', buffer: statement });
    await expectAccessible(page);
    await page.evaluate('document.activeElement && document.activeElement.blur()');
    // The whole form, file input included: a little taller than the viewport.
    await page.screenshot({ path: consoleScreenshotPath('form', true), fullPage: true });

    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('heading', { name: 'Thank you, it was sent' }).waitFor();
    const updatedLive = await waitForPerson();
    if (updatedLive) expect(await page.locator('[data-live-url]').getAttribute('data-live-updated')).toBeTruthy();
    await expect(page.getByRole('link', { name: "Open the run's timeline" }).count()).resolves.toBe(1);
    await expectAccessible(page);
    await page.screenshot({ path: consoleScreenshotPath('form-progress', true), fullPage: false });

    const runs = await t.app.engine.listRuns({ workflow: 'card-dispute' });
    const run = runs.find((r) => (r.input as { customerName?: string }).customerName === 'Browser Dana');
    const attachments =
      (run?.input as { attachments?: { filename: string; sha256: string }[] } | undefined)?.attachments ?? [];
    expect(attachments.map((a) => a.filename)).toEqual(['statement.txt']);
    expect(await formUploadModel(t.app.store).countDocuments({ _id: attachments[0]?.sha256 })).toBe(1);
  });

  it('lets a customer with a public link send the form and see only its progress', async () => {
    await browser.context.clearCookies();
    const token = await publicFormLink(t, {
      workflow: 'card-dispute',
      expiresAt: new Date(Date.now() + 7 * 86_400_000),
    });
    await page.goto(`${t.baseUrl}/forms/card-dispute?t=${token}`);
    await expect(page.getByRole('button', { name: 'Sign out' }).count()).resolves.toBe(0);
    await fillDispute('Public Dana');
    await expectAccessible(page);
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByRole('heading', { name: 'Thank you, it was sent' }).waitFor();
    await waitForPerson();
    await expect(page.getByRole('link', { name: "Open the run's timeline" }).count()).resolves.toBe(0);
    expect(await page.content()).not.toContain('Public Dana');
    await expectAccessible(page);
  });
});
