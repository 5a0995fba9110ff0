import type { CaseSlice } from '../evals/types.js';
import type { Autonomy } from '../settings-schema.js';
import { type ActiveGrant, boundaryLevel, type SliceRule, sliceOverride } from './boundary.js';
import { actsAlone, raisedLevel, rankOf } from './levels.js';
import { asciiSliceKey, sliceKey } from './slices.js';
import { wilson } from './wilson.js';

/** One case compared with a person: a production decision, or an eval case against its expected outcome. */
export interface Observation {
  slice: CaseSlice;
  agreed: boolean;
  source: 'production' | 'eval';
  at: Date;
}

/** What a slice must show before raising it is recommended (settings `autonomy.bar`). */
export interface RaiseBar {
  /** The Wilson lower bound of agreement must reach this. */
  minAgreement: number;
  minCases: number;
  /** Confidence level of the Wilson intervals. */
  confidence: number;
}

/** When live agreement recommends lowering a slice that acts alone (settings `autonomy.lower`). */
export interface LowerRule {
  /** Lower when the Wilson upper bound of live agreement is below this. */
  below: number;
  minCases: number;
  windowDays: number;
}

/** A workflow's boundary as configured: what a slice's level in force is computed from. */
export interface WorkflowBoundary {
  workflow: string;
  /** The workflow's own level (`workflows.<name>.autonomy`, default autonomous). */
  own: Autonomy;
  /** The deployment-wide ceiling (AUTONOMY). */
  ceiling: Autonomy;
  rules: readonly SliceRule[];
  grants: readonly ActiveGrant[];
}

export interface Recommendation {
  /** Stable while the evidence points the same way: workflow, slice and target level (`card-dispute/accept/ge0.9/le50/assisted`). */
  id: string;
  workflow: string;
  slice: CaseSlice;
  sliceKey: string;
  /** The slice's level in force (AUTONOMY applied), and what set it. */
  current: Autonomy;
  from: 'workflow' | 'config' | 'grant' | 'ceiling';
  action: 'raise' | 'lower' | 'hold';
  /** The level a person may apply; the current level for `hold`. */
  target: Autonomy;
  /** All evidence: production decisions and the latest eval's cases. */
  cases: number;
  agreed: number;
  rate: number | null;
  interval: { lower: number; upper: number };
  sources: { production: number; eval: number };
  /** Production decisions within the lowering window. */
  live: { cases: number; agreed: number; rate: number | null; upper: number };
  /** Why, in words: "37 of 200 cases needed", "lower bound 96.1% < 98%". */
  reason: string;
  /** What else a person should know (the ceiling keeps a raise from taking effect). */
  note: string | null;
}

/** 0.961 → "96.1%", 0.98 → "98%". */
export const percent = (x: number): string => `${(x * 100).toFixed(1).replace(/\.0$/, '')}%`;

const DAY_MS = 86_400_000;

/**
 * Per slice of one workflow: raise when enough cases show agreement whose Wilson lower bound clears the bar; lower
 * to `shadow` when a slice that acts alone has recent production agreement whose upper bound is below `lower.below`
 * (even the optimistic end of the interval is too low); otherwise hold, saying what is missing. A pure function of
 * its arguments, so the same evidence always gives the same recommendations and ids.
 */
export function recommend(args: {
  observations: readonly Observation[];
  boundary: WorkflowBoundary;
  bar: RaiseBar;
  lower: LowerRule;
  now: Date;
}): Recommendation[] {
  const { boundary, bar, lower, now } = args;
  const bySlice = new Map<string, Observation[]>();
  for (const o of args.observations) {
    const key = sliceKey(o.slice);
    bySlice.set(key, [...(bySlice.get(key) ?? []), o]);
  }
  const since = now.getTime() - lower.windowDays * DAY_MS;
  const out: Recommendation[] = [];
  for (const [key, list] of bySlice) {
    const slice = (list[0] as Observation).slice;
    const decision = boundaryLevel(
      boundary.own,
      boundary.ceiling,
      sliceOverride(slice, boundary.rules, boundary.grants),
    );
    const current = decision.level;
    const agreed = list.filter((o) => o.agreed).length;
    const interval = wilson(agreed, list.length, bar.confidence);
    const liveList = list.filter((o) => o.source === 'production' && o.at.getTime() >= since);
    const liveAgreed = liveList.filter((o) => o.agreed).length;
    const liveInterval = wilson(liveAgreed, liveList.length, bar.confidence);
    const base = {
      workflow: boundary.workflow,
      slice,
      sliceKey: key,
      current,
      from: decision.from,
      cases: list.length,
      agreed,
      rate: list.length === 0 ? null : agreed / list.length,
      interval,
      sources: {
        production: list.filter((o) => o.source === 'production').length,
        eval: list.filter((o) => o.source === 'eval').length,
      },
      live: {
        cases: liveList.length,
        agreed: liveAgreed,
        rate: liveList.length === 0 ? null : liveAgreed / liveList.length,
        upper: liveInterval.upper,
      },
    };
    const idFor = (target: Autonomy) => `${boundary.workflow}/${asciiSliceKey(slice)}/${target}`;
    const hold = (reason: string, note: string | null = null): Recommendation => ({
      ...base,
      id: idFor(current),
      action: 'hold',
      target: current,
      reason,
      note,
    });

    if (actsAlone(current) && liveList.length >= lower.minCases && liveInterval.upper < lower.below) {
      out.push({
        ...base,
        id: idFor('shadow'),
        action: 'lower',
        target: 'shadow',
        reason: `live agreement ${percent(liveAgreed / liveList.length)} over ${liveList.length} cases in ${lower.windowDays} days: upper bound ${percent(liveInterval.upper)} < ${percent(lower.below)}`,
        note: null,
      });
      continue;
    }
    const target = raisedLevel(current);
    if (target === null) {
      out.push(hold('already autonomous'));
      continue;
    }
    if (list.length < bar.minCases) {
      out.push(hold(`${list.length} of ${bar.minCases} cases needed`));
      continue;
    }
    if (interval.lower < bar.minAgreement) {
      out.push(hold(`lower bound ${percent(interval.lower)} < ${percent(bar.minAgreement)}`));
      continue;
    }
    const cleared = `lower bound ${percent(interval.lower)} ≥ ${percent(bar.minAgreement)} over ${list.length} cases`;
    if (rankOf(decision.requested) >= rankOf(target)) {
      // Nothing to grant: the workflow's level or an override already asks for this much; only the ceiling holds it.
      // (A grant of less would hold the slice back once AUTONOMY is raised.)
      out.push(
        hold(
          `${cleared}; ${decision.requested} is already set for this slice`,
          `AUTONOMY=${boundary.ceiling} caps it at ${current}: raising AUTONOMY is the operator's call`,
        ),
      );
      continue;
    }
    out.push({
      ...base,
      id: idFor(target),
      action: 'raise',
      target,
      reason: cleared,
      note:
        rankOf(target) > rankOf(boundary.ceiling)
          ? `AUTONOMY=${boundary.ceiling} caps the workflow: the grant takes effect once AUTONOMY allows ${target}`
          : null,
    });
  }
  // Most evidence first; ties by key, so the order is stable.
  return out.sort((a, b) => b.cases - a.cases || a.sliceKey.localeCompare(b.sliceKey));
}
