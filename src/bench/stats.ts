/**
 * Percentiles and summaries of latency samples. Percentiles interpolate linearly between the
 * two nearest ranks (NumPy's default `linear` method, which vLLM's `bench serve` reports), so a
 * p50 of an even-sized sample is the mean of the middle two.
 */

export const PERCENTILES = [50, 90, 95, 99] as const;

export interface Summary {
  count: number;
  mean: number;
  std: number;
  min: number;
  max: number;
  p50: number;
  p90: number;
  p95: number;
  p99: number;
}

/** Percentile `p` (0–100) of ascending `sorted`; NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  const rank = (p / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.min(n - 1, lo + 1);
  const a = sorted[lo] as number;
  return a + ((sorted[hi] as number) - a) * (rank - lo);
}

/** Percentile `p` (0–100) of `xs` in any order. */
export function percentile(xs: readonly number[], p: number): number {
  return percentileSorted(Float64Array.from(xs).sort(), p);
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) return Number.NaN;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i] as number;
  return s / xs.length;
}

/** Count, mean, population standard deviation, extremes and p50/p90/p95/p99; NaNs when empty. */
export function summarize(xs: ArrayLike<number>): Summary {
  const sorted = Float64Array.from(xs as ArrayLike<number>).sort();
  const n = sorted.length;
  const m = mean(sorted);
  let v = 0;
  for (let i = 0; i < n; i++) v += ((sorted[i] as number) - m) ** 2;
  return {
    count: n,
    mean: m,
    std: n === 0 ? Number.NaN : Math.sqrt(v / n),
    min: n === 0 ? Number.NaN : (sorted[0] as number),
    max: n === 0 ? Number.NaN : (sorted[n - 1] as number),
    p50: percentileSorted(sorted, 50),
    p90: percentileSorted(sorted, 90),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
  };
}
