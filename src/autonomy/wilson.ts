/**
 * The Wilson score interval: where the true agreement rate lies, given k agreements in n cases, at a confidence
 * level. Unlike the plain `k/n ± z·se` interval it stays inside [0, 1] and is honest for small n and for rates near
 * 100 %, which is exactly where the autonomy boundary looks (a slice at 200 of 200 is not "certainly 100 %").
 */

export interface Interval {
  lower: number;
  upper: number;
}

// Acklam's rational approximation of the inverse normal CDF (relative error below 1.2e-9).
const A = [
  -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
];
const B = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
const C = [
  -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
  2.938163982698783,
];
const D = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
const P_LOW = 0.02425;

const poly = (coefficients: readonly number[], x: number) => coefficients.reduce((acc, c) => acc * x + c, 0);

/** The p-quantile of the standard normal distribution, for 0 < p < 1. */
export function inverseNormal(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`inverseNormal: p must lie strictly between 0 and 1, got ${p}`);
  if (p < P_LOW) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(C, q) / (poly(D, q) * q + 1);
  }
  if (p > 1 - P_LOW) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(C, q) / (poly(D, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(A, r) * q) / (poly(B, r) * r + 1);
}

/** The two-sided critical value for a confidence level: 0.95 → 1.959964, 0.99 → 2.575829. */
export function zFor(level: number): number {
  if (!(level > 0 && level < 1))
    throw new RangeError(`confidence level must lie strictly between 0 and 1, got ${level}`);
  return inverseNormal(1 - (1 - level) / 2);
}

/** The Wilson score interval of k successes in n trials; with no trials, everything is possible: [0, 1]. */
export function wilson(k: number, n: number, level = 0.95): Interval {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n)
    throw new RangeError(`wilson: expected whole numbers 0 ≤ k ≤ n, got k=${k}, n=${n}`);
  if (n === 0) return { lower: 0, upper: 1 };
  const z = zFor(level);
  const z2 = z * z;
  const p = k / n;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // At k = 0 or k = n one side is exactly 0 or 1; floating point may miss it by an ulp.
  return {
    lower: k === 0 ? 0 : Math.max(0, centre - half),
    upper: k === n ? 1 : Math.min(1, centre + half),
  };
}
