/**
 * The few statistics the benches need to say whether a target is met on a machine whose
 * speed drifts by tens of percent within minutes: medians, ratios of runs made in the same
 * round, and how far the median of those ratios can be trusted (a bootstrap interval).
 */

/** The middle value (the upper one of the two middle values of an even count). */
export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

/** `a[i] / b[i]` for each round both have: runs of the same round compared with each other. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.slice(0, b.length).map((value, index) => value / b[index]!);
}

/**
 * The median of `a[i] / b[i]`. On a VM whose speed drifts by tens of percent within minutes,
 * this is steadier than a ratio of medians.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
  return median(pairedRatios(a, b));
}

/** A range the true median lies in with the stated confidence. */
export interface Interval {
  low: number;
  high: number;
}

/**
 * A percentile bootstrap interval for the median of `values`: the median of `resamples`
 * samples drawn with replacement, cut at both tails. It assumes nothing about the shape of
 * the noise, which on a shared VM is anything but normal. Seeded, so the same figures give
 * the same interval. With fewer than 2 values it is the value itself.
 */
export function medianInterval(
  values: readonly number[],
  options: { confidence?: number; resamples?: number; seed?: number } = {},
): Interval {
  if (values.length === 0) throw new Error('medianInterval needs at least one value');
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 10_000;
  const random = seededRandom(options.seed ?? 1);
  const medians = new Float64Array(resamples);
  const sample = new Array<number>(values.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < values.length; i++) sample[i] = values[Math.floor(random() * values.length)]!;
    medians[r] = median(sample);
  }
  medians.sort();
  const tail = (1 - confidence) / 2;
  return {
    low: medians[Math.floor(tail * (resamples - 1))]!,
    high: medians[Math.ceil((1 - tail) * (resamples - 1))]!,
  };
}

/**
 * Whether a ratio's interval says a floor (`target`, such as 0.9 for "at most 10% slower")
 * is met: `met` when all of it is at or above, `missed` when all of it is below, and
 * `undecided` when the noise of the runs straddles the floor (more rounds may decide).
 */
export function verdict(interval: Interval, target: number): 'met' | 'missed' | 'undecided' {
  if (interval.low >= target) return 'met';
  if (interval.high < target) return 'missed';
  return 'undecided';
}

/** mulberry32: a small, fast generator, good enough to draw resamples. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}
