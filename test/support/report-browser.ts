import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { AxeResults } from 'axe-core';
import { launchChromium } from './chromium.js';

/** One accessibility rule the page breaks, as axe-core reports it. */
export interface ReportViolation {
  id: string;
  impact: 'minor' | 'moderate' | 'serious' | 'critical' | null;
  help: string;
  /** CSS selectors of the offending elements (the first few). */
  targets: string[];
}

/** One chart as the browser laid it out. */
export interface ChartBox {
  label: string;
  visible: boolean;
  width: number;
  height: number;
}

export interface ReportInspection {
  violations: ReportViolation[];
  charts: ChartBox[];
  /** True when any script in the report ran (the report carries none; a case's `<script>` must stay text). */
  scriptRan: boolean;
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/**
 * Opens an eval report (a file written by `renderEvalReport`) in Debian's Chromium, measures its charts, runs
 * axe-core in the page, and saves a screenshot to `pngPath`. The report's own CSP forbids every script,
 * so axe is let in by bypassing the CSP over CDP: a `<script>` that escaped the report's escaping would then run
 * too, and `scriptRan` says so.
 */
export async function screenshotReport(
  htmlPath: string,
  pngPath: string,
  options: { maxHeight?: number } = {},
): Promise<ReportInspection> {
  const browser = await launchChromium({ width: 1200, height: 900, javaScriptEnabled: true });
  try {
    const page = await browser.context.newPage();
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Page.setBypassCSP', { enabled: true });
    await page.goto(pathToFileURL(htmlPath).href, { waitUntil: 'load' });

    const charts: ChartBox[] = [];
    for (const chart of await page.locator('svg[role="img"]').all()) {
      await chart.scrollIntoViewIfNeeded();
      const box = await chart.boundingBox();
      charts.push({
        label: (await chart.getAttribute('aria-label')) ?? '',
        visible: await chart.isVisible(),
        width: box?.width ?? 0,
        height: box?.height ?? 0,
      });
    }
    const scriptRan = await page.evaluate(() => '__pwned' in globalThis);

    await page.addScriptTag({ content: AXE_SOURCE });
    const results = await page.evaluate(
      () =>
        (globalThis as unknown as { axe: { run(options: object): Promise<AxeResults> } }).axe.run({
          resultTypes: ['violations'],
        }) as Promise<AxeResults>,
    );
    const violations = results.violations.map((v) => ({
      id: v.id,
      impact: v.impact ?? null,
      help: v.help,
      targets: v.nodes.slice(0, 5).map((n) => n.target.join(' ')),
    }));

    await page.evaluate(() => (globalThis as unknown as { scrollTo(x: number, y: number): void }).scrollTo(0, 0));
    // `maxHeight`: the top of the page only (the README's picture), else the whole page.
    await page.screenshot({
      path: pngPath,
      fullPage: true,
      ...(options.maxHeight ? { clip: { x: 0, y: 0, width: 1200, height: options.maxHeight } } : {}),
    });
    return { violations, charts, scriptRan };
  } finally {
    await browser.close();
  }
}
