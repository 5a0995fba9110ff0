import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import type { CheckpointDoc } from '../src/store/models.js';
import { isFinished } from './support/app.js';
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
import { PEOPLE, type SlackTestApp, startSlackTestApp } from './support/slack-app.js';
import { blockActions } from './support/slack-payloads.js';

let t: SlackTestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Page;

beforeAll(async () => {
  const settings = {
    ...consoleSettings(),
    workflows: { 'card-dispute': { autonomy: 'manual', bulkApprove: { minConfidence: 0.8, maxAmount: 100 } } },
  };
  t = await startSlackTestApp({
    label: 'inbox-browser',
    env: { COUNTERSIGN_CONFIG: writeSettingsFile('console-inbox-browser', settings) },
  });
  ({ browser, page } = await consoleBrowser());
});

afterAll(async () => {
  await browser?.close();
  await t?.close();
});

/** A sample dispute waiting at its checkpoint (the sample's own customer, whose account the agents know). */
async function pending(sample: 'needsReview' | 'clearAccept') {
  const started = await t.startDispute(SAMPLE_DISPUTES[sample]);
  expect(started.checkpoint.status).toBe('pending');
  return started;
}

async function checkpoint(id: string): Promise<CheckpointDoc> {
  const cp = await t.app.engine.getCheckpoint(id);
  if (!cp) throw new Error(`no checkpoint ${id}`);
  return cp;
}

describe('the inbox in a real browser', () => {
  it('signs in by the emailed link and decides one request from the inbox', async () => {
    const { runId, checkpoint: cp } = await pending('needsReview');
    await signInBrowser(t, page, CONSOLE_PEOPLE.approver);
    await page.waitForURL(/\/inbox$/);
    await page.getByRole('heading', { name: 'Waiting for you' }).waitFor();
    await expectAccessible(page);

    await page.locator(`a[href="/inbox/${cp._id}"]`).first().click();
    await page.getByRole('heading', { name: 'What the AI proposes' }).waitFor();
    await expectAccessible(page);
    await page.screenshot({ path: consoleScreenshotPath('decide', true), fullPage: false });

    await page.getByLabel('Comment (optional)').fill('Refund this month; the export was promised.');
    await page.getByRole('button', { name: 'Approve', exact: true }).click();
    await page.waitForURL(/\/inbox\?decided=/);
    expect(await page.getByRole('status').first().textContent()).toContain('Approved');

    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decidedBy: CONSOLE_PEOPLE.approver, channel: 'console' });
  });

  it('bulk-approves three alike requests, reporting the one decided meanwhile on Slack and leaving it as it is', async () => {
    const items = [await pending('clearAccept'), await pending('clearAccept'), await pending('clearAccept')];
    await page.goto(`${t.baseUrl}/inbox`);
    const form = page.locator('form[action="/inbox/bulk"]');
    for (const { checkpoint: cp } of items) await form.locator(`input[name="item"][value^="${cp._id}:"]`).waitFor();
    // The script shows the select-all box; it ticks every item of the list.
    await form.getByLabel('Select all').check();
    for (const { checkpoint: cp } of items)
      expect(await form.locator(`input[name="item"][value^="${cp._id}:"]`).isChecked()).toBe(true);
    await expectAccessible(page);
    await page.screenshot({ path: consoleScreenshotPath('inbox', true), fullPage: false });

    // While the person reviews the list, Bob approves the second one from its Slack card.
    const onSlack = items[1]?.checkpoint._id ?? '';
    const card = await t.card(onSlack);
    const click = await t.interact(
      blockActions({
        user: PEOPLE.bob.id,
        actionId: 'countersign.approve',
        value: onSlack,
        channel: card.channel,
        messageTs: card.ts,
      }),
    );
    expect(click.status).toBe(200);
    await expect.poll(async () => (await checkpoint(onSlack)).status, { timeout: 30_000 }).toBe('approved');
    const slackDecision = await checkpoint(onSlack);
    expect(slackDecision.decision?.channel).toBe('slack');

    await form.getByRole('button', { name: 'Approve selected' }).click();
    await page.getByRole('heading', { name: 'Bulk approval' }).waitFor();
    const result = (await page.locator('main').textContent()) ?? '';
    expect(result).toContain('2 approved, 1 not approved');
    expect(result).toMatch(
      new RegExp(`already approved by (${PEOPLE.bob.email}|${PEOPLE.bob.id}) via Slack on .*Left as it was`),
    );
    await expectAccessible(page);
    await page.screenshot({ path: consoleScreenshotPath('bulk-result', true), fullPage: false });

    const after = await checkpoint(onSlack);
    expect(after.decision).toEqual(slackDecision.decision);
    expect(after.version).toBe(slackDecision.version);
    for (const item of [items[0], items[2]]) {
      const cp = await checkpoint(item?.checkpoint._id ?? '');
      expect(cp.decision).toMatchObject({ decision: 'approve', actor: CONSOLE_PEOPLE.approver, channel: 'console' });
      await t.waitForRun(item?.runId ?? '', isFinished);
    }
  });
});
