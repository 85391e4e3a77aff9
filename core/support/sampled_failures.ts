/**
 * Counts the failures of one kind and says which deserve a log line: the first, then every
 * `every`th, so a fault that repeats thousands of times a second (a broken listener, a broker
 * gone away) is still reported, with its count, without flooding the log. `reset()`, on the
 * success that ends an outage, has the next outage logged from its first failure.
 *
 * @example
 * const failed = sampledFailures();
 * const count = failed();
 * if (count !== undefined) log.warn({ failures: count }, 'could not publish');
 * // ...later, once it works again:
 * failed.reset();
 */
export function sampledFailures(every = 1000): SampledFailures {
  let failures = 0;
  const failed = () => {
    failures++;
    return failures === 1 || failures % every === 0 ? failures : undefined;
  };
  return Object.assign(failed, {
    reset: () => {
      failures = 0;
    },
  });
}

/** A failure counter from {@link sampledFailures}. */
export interface SampledFailures {
  /** Counts one failure; the count when this one is to be logged, else undefined. */
  (): number | undefined;
  /** Starts counting again from 0. */
  reset(): void;
}
