import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { sliceOverride } from '../src/autonomy/boundary.js';
import { type Observation, recommend, type WorkflowBoundary } from '../src/autonomy/recommend.js';
import {
  amountBandNames,
  confidenceBandNames,
  DEFAULT_BANDS,
  normalizeBand,
  parseSlicePattern,
  sliceKey,
  sliceOf,
} from '../src/autonomy/slices.js';
import { inverseNormal, wilson, zFor } from '../src/autonomy/wilson.js';
import { ConfigError } from '../src/config.js';
import { loadSettings, parseSettings, workflowSliceRules } from '../src/settings.js';

describe('the Wilson score interval', () => {
  it('takes z from the confidence level', () => {
    expect(zFor(0.95)).toBeCloseTo(1.959964, 6);
    expect(zFor(0.99)).toBeCloseTo(2.575829, 6);
    expect(zFor(0.9)).toBeCloseTo(1.644854, 6);
    expect(inverseNormal(0.5)).toBeCloseTo(0, 9);
    expect(inverseNormal(0.001)).toBeCloseTo(-3.090232, 5);
  });

  it("matches Newcombe's (1998) worked values at 95 %", () => {
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0, 0.1611],
      [1, 29, 0.0061, 0.1718],
    ];
    for (const [k, n, lower, upper] of cases) {
      const i = wilson(k, n, 0.95);
      expect(i.lower, `${k}/${n} lower`).toBeCloseTo(lower, 4);
      expect(i.upper, `${k}/${n} upper`).toBeCloseTo(upper, 4);
    }
  });

  it('is never certain: 200 of 200 has a lower bound of n/(n+z²)', () => {
    const z = zFor(0.95);
    expect(wilson(200, 200).lower).toBeCloseTo(200 / (200 + z * z), 10);
    expect(wilson(200, 200).upper).toBe(1);
    expect(wilson(0, 0)).toEqual({ lower: 0, upper: 1 });
  });

  it('refuses impossible counts', () => {
    expect(() => wilson(3, 2)).toThrow(/0 ≤ k ≤ n/);
  });
});

describe('slices', () => {
  it('names bands from the cut points', () => {
    expect(confidenceBandNames([0.7, 0.9])).toEqual(['<0.7', '0.7–0.9', '≥0.9']);
    expect(amountBandNames([50, 250, 1000])).toEqual(['≤50', '50–250', '250–1000', '>1000']);
  });

  it('puts a case on a cut point where the autonomy rules put it', () => {
    expect(sliceOf({ outcome: 'accept', confidence: 0.9, amount: 50 })).toEqual({
      outcome: 'accept',
      confidenceBand: '≥0.9',
      amountBand: '≤50',
    });
    expect(sliceOf({ outcome: 'reject', confidence: 0.89, amount: 50.01 })).toEqual({
      outcome: 'reject',
      confidenceBand: '0.7–0.9',
      amountBand: '50–250',
    });
    expect(sliceKey(sliceOf({ outcome: null, confidence: null }, DEFAULT_BANDS))).toBe('none/none/none');
  });

  it('reads bands as people type them', () => {
    expect(['>=0.9', 'ge0.9', '≥0.9'].map(normalizeBand)).toEqual(['≥0.9', '≥0.9', '≥0.9']);
    expect(['<=50', 'le50', '50-250', 'lt0.7', 'gt1000'].map(normalizeBand)).toEqual([
      '≤50',
      '≤50',
      '50–250',
      '<0.7',
      '>1000',
    ]);
  });

  it('parses a slice given on the command line, and names the bands when one is unknown', () => {
    expect(parseSlicePattern('outcome=accept,confidence=>=0.9,amount=le50', DEFAULT_BANDS)).toEqual({
      ok: true,
      pattern: { outcome: 'accept', confidenceBand: '≥0.9', amountBand: '≤50' },
    });
    expect(parseSlicePattern('amount=>1000', DEFAULT_BANDS)).toEqual({
      ok: true,
      pattern: { outcome: '*', confidenceBand: '*', amountBand: '>1000' },
    });
    expect(parseSlicePattern('confidence=≥0.95', DEFAULT_BANDS)).toEqual({
      ok: false,
      problems: ['unknown confidence band "≥0.95" (bands: <0.7, 0.7–0.9, ≥0.9, none)'],
    });
    expect(parseSlicePattern('risk=low', DEFAULT_BANDS)).toMatchObject({ ok: false });
  });
});

describe('the level of a slice', () => {
  const slice = { outcome: 'accept', confidenceBand: '≥0.9', amountBand: '≤50' };
  const rule = (outcome: string, confidenceBand: string, amountBand: string, level: 'manual' | 'assisted') => ({
    pattern: { outcome, confidenceBand, amountBand },
    level,
  });
  const grant = (id: string, outcome: string, level: 'shadow' | 'assisted', at: number) => ({
    id,
    pattern: { outcome, confidenceBand: '*', amountBand: '*' },
    level,
    appliedBy: 'lead@example.com',
    appliedAt: new Date(at),
  });

  it('is set by the most specific matching entry', () => {
    const rules = [rule('accept', '*', '*', 'assisted'), rule('accept', '≥0.9', '≤50', 'manual')];
    expect(sliceOverride(slice, rules, [])).toMatchObject({ source: 'config', index: 1, level: 'manual' });
  });

  it('lets a grant beat a file entry as specific, and the newest grant beat older ones', () => {
    const rules = [rule('accept', '*', '*', 'manual')];
    const grants = [grant('g-old', 'accept', 'assisted', 1), grant('g-new', 'accept', 'shadow', 2)];
    expect(sliceOverride(slice, rules, grants)).toMatchObject({ source: 'grant', grantId: 'g-new', level: 'shadow' });
  });

  it('ignores entries for other kinds of case', () => {
    expect(sliceOverride(slice, [rule('reject', '*', '*', 'assisted')], [])).toBeNull();
  });
});

const DAY = 86_400_000;
const NOW = new Date('2026-12-01T12:00:00Z');
const clear = { outcome: 'accept', confidenceBand: '≥0.9', amountBand: '≤50' };

function observations(
  n: number,
  agreed: number,
  source: Observation['source'] = 'production',
  ageDays = 1,
  slice = clear,
): Observation[] {
  return Array.from({ length: n }, (_, i) => ({
    slice,
    agreed: i < agreed,
    source,
    at: new Date(NOW.getTime() - ageDays * DAY),
  }));
}

const BAR = { minAgreement: 0.98, minCases: 200, confidence: 0.95 };
const LOWER = { below: 0.9, minCases: 30, windowDays: 30 };
const boundary = (
  own: WorkflowBoundary['own'],
  ceiling: WorkflowBoundary['ceiling'] = 'autonomous',
): WorkflowBoundary => ({
  workflow: 'card-dispute',
  own,
  ceiling,
  rules: [],
  grants: [],
});

describe('recommend', () => {
  it('recommends raising a shadow slice to assisted when the lower bound clears the bar over enough cases', () => {
    const [rec] = recommend({
      observations: [...observations(300, 300), ...observations(100, 100, 'eval')],
      boundary: boundary('shadow'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    });
    expect(rec).toMatchObject({
      id: 'card-dispute/accept/ge0.9/le50/assisted',
      action: 'raise',
      current: 'shadow',
      target: 'assisted',
      cases: 400,
      agreed: 400,
      sources: { production: 300, eval: 100 },
      note: null,
    });
    expect(rec?.interval.lower).toBeCloseTo(400 / (400 + zFor(0.95) ** 2), 10);
    expect(rec?.reason).toBe('lower bound 99% ≥ 98% over 400 cases');
  });

  it('holds with the number of cases still needed', () => {
    const [rec] = recommend({
      observations: observations(37, 37),
      boundary: boundary('shadow'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    });
    expect(rec).toMatchObject({ action: 'hold', target: 'shadow', reason: '37 of 200 cases needed' });
    expect(rec?.id).toBe('card-dispute/accept/ge0.9/le50/shadow');
  });

  it('holds with the lower bound when agreement is not high enough', () => {
    const [rec] = recommend({
      observations: observations(400, 392),
      boundary: boundary('manual'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    });
    expect(rec?.action).toBe('hold');
    expect(rec?.reason).toMatch(/^lower bound 96\.\d% < 98%$/);
  });

  it('recommends lowering an assisted slice to shadow when live agreement falls', () => {
    const [rec] = recommend({
      observations: [...observations(500, 500, 'production', 90), ...observations(40, 30)],
      boundary: boundary('assisted'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    });
    expect(rec).toMatchObject({ action: 'lower', target: 'shadow', live: { cases: 40, agreed: 30 } });
    expect(rec?.id).toBe('card-dispute/accept/ge0.9/le50/shadow');
    expect(rec?.reason).toMatch(/^live agreement 75% over 40 cases in 30 days: upper bound 8\d\.\d% < 90%$/);
  });

  it('does not lower on eval cases or on old decisions alone', () => {
    const [rec] = recommend({
      observations: [...observations(40, 20, 'eval'), ...observations(40, 20, 'production', 60)],
      boundary: boundary('assisted'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    });
    expect(rec?.action).toBe('hold');
  });

  it('says when only the AUTONOMY ceiling holds a slice back', () => {
    // A workflow at shadow under a `shadow` ceiling: the raise is worth granting, and waits for AUTONOMY.
    const raise = recommend({
      observations: observations(300, 300),
      boundary: boundary('shadow', 'shadow'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    })[0];
    expect(raise).toMatchObject({ action: 'raise', current: 'shadow', target: 'assisted' });
    expect(raise?.note).toMatch(/AUTONOMY=shadow caps the workflow/);
    // The workflow's own level already asks for more than the raise would grant: a grant would only hold the slice
    // back once AUTONOMY is raised, so nothing is recommended but the ceiling.
    const capped = recommend({
      observations: observations(300, 300),
      boundary: boundary('autonomous', 'manual'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    })[0];
    expect(capped).toMatchObject({ action: 'hold', current: 'manual', from: 'workflow' });
    expect(capped?.note).toMatch(/AUTONOMY=manual caps it at manual/);
    const granted = {
      ...boundary('shadow', 'shadow'),
      grants: [{ id: 'g1', pattern: clear, level: 'assisted' as const, appliedBy: 'lead@example.com', appliedAt: NOW }],
    };
    const held = recommend({
      observations: observations(300, 300),
      boundary: granted,
      bar: BAR,
      lower: LOWER,
      now: NOW,
    })[0];
    expect(held).toMatchObject({ action: 'hold', current: 'shadow', from: 'grant' });
    expect(held?.reason).toMatch(/assisted is already set for this slice$/);
    expect(held?.note).toMatch(/AUTONOMY=shadow caps it at shadow/);
  });

  it('keeps slices apart and ids stable', () => {
    const other = { outcome: 'reject', confidenceBand: '0.7–0.9', amountBand: '50–250' };
    const args = {
      observations: [...observations(250, 250), ...observations(10, 5, 'production', 1, other)],
      boundary: boundary('shadow'),
      bar: BAR,
      lower: LOWER,
      now: NOW,
    };
    const first = recommend(args);
    expect(first.map((r) => [r.sliceKey, r.action])).toEqual([
      ['accept/≥0.9/≤50', 'raise'],
      ['reject/0.7–0.9/50–250', 'hold'],
    ]);
    expect(recommend(args).map((r) => r.id)).toEqual(first.map((r) => r.id));
  });
});

describe('autonomy settings', () => {
  it('defaults the bar, the lowering rule and the bands', () => {
    expect(parseSettings({}, 'countersign.yaml').autonomy).toEqual({
      bar: { minAgreement: 0.98, minCases: 200, confidence: 0.95 },
      lower: { below: 0.9, minCases: 30, windowDays: 30 },
      confidenceBands: [0.7, 0.9],
      amountBands: [50, 250, 1000],
    });
  });

  it('reads slice levels with band names in any accepted spelling', () => {
    const settings = parseSettings(
      {
        workflows: {
          'card-dispute': {
            slices: [{ outcome: 'accept', confidence: '>=0.9', amount: 'le50', autonomy: 'assisted' }],
          },
        },
      },
      'countersign.yaml',
    );
    expect(settings.workflows['card-dispute']?.slices).toEqual([
      { outcome: 'accept', confidence: '≥0.9', amount: '≤50', autonomy: 'assisted' },
    ]);
  });

  it('names the file, the path and the known bands when a slice names an unknown band', () => {
    const bad = () =>
      parseSettings(
        {
          autonomy: { confidenceBands: [0.8] },
          workflows: { 'card-dispute': { slices: [{ confidence: '≥0.9', autonomy: 'assisted' }] } },
        },
        'countersign.yaml',
      );
    expect(bad).toThrow(ConfigError);
    try {
      bad();
    } catch (err) {
      expect((err as ConfigError).problems).toEqual([
        'COUNTERSIGN_CONFIG (countersign.yaml) workflows.card-dispute.slices[0].confidence: unknown confidence band "≥0.9" (bands: <0.8, ≥0.8, none)',
      ]);
    }
  });

  it('refuses cut points out of order and a bar above 100 %', () => {
    try {
      parseSettings({ autonomy: { amountBands: [250, 50], bar: { minAgreement: 1.5 } } }, 'countersign.yaml');
      expect.unreachable();
    } catch (err) {
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/autonomy\.bar\.minAgreement: expected a share of at most 1/);
      expect(problems).toMatch(/autonomy\.amountBands: expected amount cut points in increasing order/);
    }
  });

  it('loads the example file, slices and all', () => {
    const example = loadSettings(fileURLToPath(new URL('../countersign.example.yaml', import.meta.url)), undefined, {
      OPENAI_API_KEY: 'sk-from-env',
    });
    expect(workflowSliceRules(example)['card-dispute']).toEqual([
      { pattern: { outcome: 'accept', confidenceBand: '≥0.9', amountBand: '≤50' }, level: 'shadow' },
      { pattern: { outcome: '*', confidenceBand: '*', amountBand: '>1000' }, level: 'manual' },
    ]);
    expect(example.autonomy.lower).toEqual({ below: 0.9, minCases: 30, windowDays: 30 });
  });
});
