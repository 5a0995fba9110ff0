import type { CaseSlice } from '../evals/types.js';
import type { Autonomy } from '../settings-schema.js';
import { lowestLevel } from './levels.js';
import { matchesSlice, type SlicePattern, specificity } from './slices.js';

/** A slice level from the configuration file (`workflows.<name>.slices`), in file order. */
export interface SliceRule {
  pattern: SlicePattern;
  level: Autonomy;
}

/** A grant in force (src/autonomy/grants.ts), as the boundary needs it. */
export interface ActiveGrant {
  id: string;
  pattern: SlicePattern;
  level: Autonomy;
  appliedBy: string;
  appliedAt: Date;
}

export type SliceOverride =
  | { source: 'config'; pattern: SlicePattern; level: Autonomy; index: number }
  | { source: 'grant'; pattern: SlicePattern; level: Autonomy; grantId: string; appliedBy: string; appliedAt: Date };

/**
 * The override that sets a case's level: the most specific matching pattern; at equal specificity a grant beats the
 * file (a person applied it after reading the evidence), the newest grant beats older ones, and the file's first
 * entry beats later ones. Null when nothing matches: the workflow's own level applies.
 */
export function sliceOverride(
  slice: CaseSlice,
  rules: readonly SliceRule[],
  grants: readonly ActiveGrant[],
): SliceOverride | null {
  const candidates: SliceOverride[] = [
    ...grants
      .filter((g) => matchesSlice(g.pattern, slice))
      .map(
        (g): SliceOverride => ({
          source: 'grant',
          pattern: g.pattern,
          level: g.level,
          grantId: g.id,
          appliedBy: g.appliedBy,
          appliedAt: new Date(g.appliedAt),
        }),
      ),
    ...rules
      .map((r, index): SliceOverride => ({ source: 'config', pattern: r.pattern, level: r.level, index }))
      .filter((r) => matchesSlice(r.pattern, slice)),
  ];
  const rank = (o: SliceOverride) => [
    -specificity(o.pattern),
    o.source === 'grant' ? 0 : 1,
    o.source === 'grant' ? -o.appliedAt.getTime() : o.index,
  ];
  candidates.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return (ra[i] ?? 0) - (rb[i] ?? 0);
    return 0;
  });
  return candidates[0] ?? null;
}

/** Where the level of a case came from, journaled with the verdict. */
export interface BoundaryDecision {
  /** The level in force for this case: the requested level under AUTONOMY and the run's cap. */
  level: Autonomy;
  /** What the workflow or the slice asks for before the ceilings. */
  requested: Autonomy;
  /**
   * `workflow`: the workflow's own level; `config`/`grant`: a slice override; `ceiling`: AUTONOMY or the run's cap is
   * `manual`, so nothing could raise the case and no grant was read.
   */
  from: 'workflow' | 'config' | 'grant' | 'ceiling';
  grantId?: string;
  appliedBy?: string;
}

/**
 * The level of one case. `own` is the workflow's level (`workflows.<name>.autonomy`, default autonomous), `ceiling`
 * the lowest of AUTONOMY and the run's cap: a slice override replaces `own` in either direction, never the ceiling.
 */
export function boundaryLevel(
  own: Autonomy,
  ceiling: Autonomy,
  override: SliceOverride | null,
  grantsRead = true,
): BoundaryDecision {
  const requested = override?.level ?? own;
  const level = lowestLevel(requested, ceiling);
  if (!grantsRead) return { level, requested, from: 'ceiling' };
  if (!override) return { level, requested, from: 'workflow' };
  if (override.source === 'config') return { level, requested, from: 'config' };
  return { level, requested, from: 'grant', grantId: override.grantId, appliedBy: override.appliedBy };
}
