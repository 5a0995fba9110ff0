/** A source of numbers in [0, 1). Seeded, so a chaos run that found a bug can be replayed fault for fault. */
export type Random = () => number;

/** mulberry32: tiny, fast and good enough for picking moments and victims; not for anything secret. */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: Random, items: readonly T[]): T {
  if (items.length === 0) throw new RangeError('pick: no items to pick from');
  return items[Math.floor(random() * items.length)] as T;
}

/** A uniform float in [min, max). */
export function between(random: Random, min: number, max: number): number {
  return min + (max - min) * random();
}
