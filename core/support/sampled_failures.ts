/**
 * Counts the failures of one kind and says which deserve a log line: the first, then every
 * `every`th, so a fault that repeats thousands of times a second (a broken listener, a broker
 * gone away) is still reported, with its count, without flooding the log.
 *
 * @example
 * const failed = sampledFailures();
 * const count = failed();
 * if (count !== undefined) log.warn({ failures: count }, 'could not publish');
 */
export function sampledFailures(every = 1000): () => number | undefined {
  let failures = 0;
  return () => {
    failures++;
    return failures === 1 || failures % every === 0 ? failures : undefined;
  };
}
