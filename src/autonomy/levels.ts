import { AUTONOMY_LEVELS, type Autonomy } from '../settings-schema.js';

/** Autonomy levels in increasing order of what the AI may do without a person. */
const AUTONOMY_ORDER: readonly Autonomy[] = AUTONOMY_LEVELS;

export const rankOf = (level: Autonomy): number => AUTONOMY_ORDER.indexOf(level);

/** The lowest of the given levels: each one is a ceiling. */
export function lowestLevel(...levels: Autonomy[]): Autonomy {
  const index = Math.min(...levels.map(rankOf));
  return AUTONOMY_ORDER[index] ?? 'manual';
}

/** Where a raise goes: manual and shadow to assisted (shadow only records), assisted to autonomous. */
export function raisedLevel(level: Autonomy): Autonomy | null {
  if (level === 'manual' || level === 'shadow') return 'assisted';
  if (level === 'assisted') return 'autonomous';
  return null;
}

/** A level at which the AI's proposals may stand without a person. */
export const actsAlone = (level: Autonomy): boolean => level === 'assisted' || level === 'autonomous';
