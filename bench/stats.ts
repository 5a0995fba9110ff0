/** Nearest-rank percentile of unsorted samples (NaN when empty). */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function median(samples: readonly number[]): number {
  return percentile(samples, 50);
}

/** A rounded number for the table: fewer decimals as values grow. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  if (Math.abs(n) >= 10) return n.toFixed(1);
  return n.toFixed(2);
}

/**
 * A text histogram for the markdown (people would rather look than read): ten equal-width bins from the
 * smallest to the largest sample, bars scaled to the fullest bin.
 */
export function histogram(title: string, samples: readonly number[], unit: string, bins = 10, width = 40): string {
  if (samples.length === 0) return `${title}: no samples\n`;
  const min = Math.min(...samples);
  const max = Math.max(...samples);
  const step = max > min ? (max - min) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (const s of samples) {
    const i = Math.min(bins - 1, Math.floor((s - min) / step));
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const peak = Math.max(...counts);
  const label = (i: number) => `${fmt(min + i * step)}–${fmt(min + (i + 1) * step)} ${unit}`;
  const pad = Math.max(...counts.map((_, i) => label(i).length));
  const lines = counts.map((c, i) => {
    const bar = '█'.repeat(peak > 0 ? Math.round((c / peak) * width) : 0);
    return `${label(i).padStart(pad)} │${bar} ${c}`;
  });
  const summary = `n=${samples.length}  p50=${fmt(percentile(samples, 50))}  p99=${fmt(percentile(samples, 99))}  max=${fmt(max)} ${unit}`;
  return `${title}\n${summary}\n${lines.join('\n')}\n`;
}

/** A whole count for the table: `10,000`, never `0.00`. */
export function count(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : 'n/a';
}
