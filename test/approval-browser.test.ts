import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SAMPLE_DISPUTES } from '../agents/disputes/samples.js';
import { approvalLink } from '../src/approvals/tokens.js';
import { APPROVER, hasPendingCheckpoint, isFinished, startTestApp, type TestApp } from './support/app.js';
import { artifactPath, launchChromium } from './support/chromium.js';

let t: TestApp;
let browser: Awaited<ReturnType<typeof launchChromium>>;

beforeAll(async () => {
  t = await startTestApp({ label: 'browser' });
  browser = await launchChromium({ width: 900, height: 1200, javaScriptEnabled: true });
});
afterAll(async () => {
  await browser?.close();
  await t?.close();
});

describe('the approval page in a real browser', () => {
  it('shows the evidence, takes an edited reply and decides once', async () => {
    const customer = 'browser-case@example.com';
    const res = await t.webhook('card-dispute', { ...SAMPLE_DISPUTES.needsReview, customerEmail: customer });
    const { runId } = (await res.json()) as { runId: string };
    const run = await t.waitForRun(runId, hasPendingCheckpoint);
    const checkpointId = run.checkpoints[0]?.id ?? '';
    const link = approvalLink(t.app.config.publicUrl, t.app.config.appSecret, { checkpointId, recipient: APPROVER });

    const page = await browser.context.newPage();
    await page.goto(link);
    const shown = await page.content();
    for (const section of [
      'Evidence (evidence-collector)',
      'Account risk (account-risk)',
      'Language (language-analyst)',
    ]) {
      expect(shown).toContain(section);
    }
    await page.screenshot({ path: artifactPath('approval-page.png'), fullPage: true });

    const edited = 'Hello Linus, we have refunded this month in full; the audit-log export ships next week. — Support';
    await page.locator('textarea[name$="reply"]').fill(edited);
    await page.getByRole('button', { name: 'Approve' }).click();
    await page.waitForLoadState('load');
    expect(await page.content()).toMatch(/recorded/i);

    const done = await t.waitForRun(runId, isFinished);
    expect(done.output).toMatchObject({ decidedBy: APPROVER, channel: 'link', replySent: true });
    const mail = await t.smtp.waitFor((m) => m.to.includes(customer));
    expect(mail.text.trim()).toBe(edited);

    await page.goto(link);
    expect(await page.content()).toMatch(/already been used|approved by/i);
    await page.close();
  });
});
