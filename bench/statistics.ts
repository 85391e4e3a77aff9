/**
 * The few statistics the benches need to say whether a target is met on a machine whose
 * speed drifts by tens of percent within minutes: medians, ratios of runs made in the same
 * round, and how far the median of those ratios can be trusted (an order-statistic interval).
 */

/** The middle value; of an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** `a[i] / b[i]` for each round both have: runs of the same round compared with each other. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.slice(0, b.length).map((value, index) => value / b[index]!);
}

/** A range the true median lies in with the stated confidence. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * A distribution-free confidence interval for the median of `values`: the order statistics
 * x(k) and x(n-k+1), with k the largest rank for which the chance that the true median lies
 * outside them, 2 P(Binomial(n, 1/2) < k), is at most 1 - `confidence`. Its coverage is exact
 * whatever the shape of the noise, which on a shared VM is anything but normal. Too few
 * values for that confidence (fewer than 6 at 95%) give `undefined`: no interval, no verdict.
 */
export function medianInterval(values: readonly number[], confidence = 0.95): Interval | undefined {
  const n = values.length;
  const sorted = [...values].sort((a, b) => a - b);
  // P(B <= j) for B ~ Binomial(n, 1/2), accumulated while it stays within the allowed tail
  let k = 0;
  let tail = 0;
  let term = 0.5 ** n; // P(B = 0)
  for (let j = 0; j < n; j++) {
    tail += term;
    if (2 * tail > 1 - confidence) break;
    k = j + 1;
    term = (term * (n - j)) / (j + 1);
  }
  if (k === 0) return undefined;
  return { low: sorted[k - 1]!, high: sorted[n - k]! };
}

/**
 * Whether a ratio's interval says a floor (`target`, such as 0.9 for "at most 10% slower")
 * is met: `met` when all of it is at or above, `missed` when all of it is below, and
 * `undecided` when the noise of the runs straddles the floor or there are too few runs for
 * an interval (more rounds may decide).
 */
export function verdict(interval: Interval | undefined, target: number): 'met' | 'missed' | 'undecided' {
  if (interval === undefined) return 'undecided';
  if (interval.low >= target) return 'met';
  if (interval.high < target) return 'missed';
  return 'undecided';
}

/** An interval as text, each end multiplied by `scale` (100 for percent) and suffixed. */
export function formatInterval(
  interval: Interval | undefined,
  scale: number,
  digits: number,
  unit: string,
): string {
  if (interval === undefined) return 'too few runs (6 or more)';
  return `${(interval.low * scale).toFixed(digits)}-${(interval.high * scale).toFixed(digits)}${unit}`;
}
