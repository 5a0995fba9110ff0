import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { renderEvalReport } from '../src/evals/report-html.js';
import { artifactPath } from './support/chromium.js';
import { evalRunFixture } from './support/eval-run-fixture.js';
import { type ReportInspection, screenshotReport } from './support/report-browser.js';

let inspection: ReportInspection;
const png = artifactPath('eval-report.png');

beforeAll(async () => {
  // Kept under test-artifacts/ beside its screenshot, for people to open.
  const htmlPath = artifactPath('eval-report.html');
  writeFileSync(htmlPath, await renderEvalReport(evalRunFixture()));
  inspection = await screenshotReport(htmlPath, png);
});

describe('the eval report in a real browser', () => {
  it('lays out the four charts visibly, each with its accessible name', () => {
    expect(inspection.charts).toHaveLength(4);
    for (const chart of inspection.charts) {
      expect(chart.visible).toBe(true);
      expect(chart.width).toBeGreaterThan(300);
      expect(chart.height).toBeGreaterThan(150);
    }
    expect(inspection.charts.map((c) => c.label.split('.')[0])).toEqual([
      'Bar chart',
      'Calibration curve',
      'Histogram of cost per case in US dollars over 28 cases: median $0',
      'Histogram of wall time per case over 28 cases: median 3',
    ]);
  });

  it('has no serious or critical accessibility violation', () => {
    const serious = inspection.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    expect(serious, JSON.stringify(serious, null, 2)).toEqual([]);
  });

  it('never runs the script a customer put in a case', () => {
    expect(inspection.scriptRan).toBe(false);
  });

  it('writes a full-page screenshot', () => {
    const image = readFileSync(png);
    expect(image.subarray(1, 4).toString()).toBe('PNG');
    // A full page of this report is several screens tall: the PNG's height (bytes 20–23) says so.
    expect(image.readUInt32BE(20)).toBeGreaterThan(3000);
  });
});
