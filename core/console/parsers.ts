/**
 * Parsers for command line values, used as commander `argParser`s. Each one turns text
 * into a typed value or throws commander's `InvalidArgumentError` with a message saying
 * what is accepted, so a bad flag is rejected before any connection is opened and the
 * kernel reports it as a usage error (exit code 2). Where `core/queue` already owns the
 * rule (queue names, job ids, worker names, retry policies) its error message is reused as is.
 */
import { InvalidArgumentError } from 'commander';
import { delayedRunAt, LATEST_DISPATCH_MS } from '../queue/dispatch_options.js';
import {
  assertJobId,
  assertNewJobId,
  assertJobName,
  assertQueueName,
  assertWorkerName,
  LISTED_NAME_HINT,
  parseQueueList,
} from '../queue/names.js';
import { assertDescription, assertOwner } from '../queue/job_labels.js';
import { parseRetryPolicy, type RetryPolicy } from '../queue/retry_policy.js';
import { MAX_CONCURRENCY } from '../queue/worker_options.js';
import { MAX_LEASE_MS, MIN_LEASE_MS } from '../queue/lease_bounds.js';
import { parsePrefetchSetting } from '../queue/reserve_ahead.js';

/** Runs `parse`, turning any error it throws into an `InvalidArgumentError`. */
function wrap<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof InvalidArgumentError) throw error;
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/** A strict decimal number: rejects `''`, `'12abc'`, `'0x10'` and `'Infinity'`. */
function toNumber(text: string): number {
  const trimmed = text.trim();
  return /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

/**
 * Accepts a whole number >= 1.
 *
 * @example
 * new Option('--concurrency <n>').argParser(parsePositiveInteger);
 */
export function parsePositiveInteger(text: string): number {
  const value = toNumber(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new InvalidArgumentError(`Expected a whole number of 1 or more (e.g. 5).`);
  }
  return value;
}

/**
 * A parser of a whole number from 1 to `max` (one past it is refused here, not sent on), whose
 * message says what the number is for: `hint`, e.g. `'e.g. 50'`.
 *
 * @example
 * new Option('--tries <n>').argParser(parseWholeNumberUpTo(MAX_TRIES, 'tries allowed, e.g. 5'));
 */
export function parseWholeNumberUpTo(max: number, hint: string): (text: string) => number {
  return (text) => {
    const value = toNumber(text);
    if (!Number.isInteger(value) || value < 1 || value > max) {
      throw new InvalidArgumentError(`Expected a whole number from 1 to ${max} (${hint}).`);
    }
    return value;
  };
}

/** Accepts `--concurrency`: a whole number from 1 to {@link MAX_CONCURRENCY}. */
export const parseConcurrency = parseWholeNumberUpTo(
  MAX_CONCURRENCY,
  'jobs at once in one worker, e.g. 10; run more workers for more',
);

/** A parser of `--limit`: a whole number from 1 to `max` (a larger one is refused, not sent on to Redis). */
export function parseLimitUpTo(max: number): (text: string) => number {
  return parseWholeNumberUpTo(max, 'e.g. 50');
}

/** Accepts a TCP port, 0 to 65535 in decimal digits (0: a free port); `0x50` or a blank is refused. */
export function parsePort(text: string): number {
  const trimmed = text.trim();
  const port = /^\d+$/.test(trimmed) ? Number(trimmed) : Number.NaN;
  if (!Number.isInteger(port) || port > 65535) {
    throw new InvalidArgumentError('Expected a TCP port from 0 to 65535 (e.g. 1884).');
  }
  return port;
}

/** Accepts a lease length in ms, a whole number from {@link MIN_LEASE_MS} to {@link MAX_LEASE_MS}. */
export function parseLeaseMs(text: string): number {
  const value = toNumber(text);
  if (!Number.isInteger(value) || value < MIN_LEASE_MS || value > MAX_LEASE_MS) {
    throw new InvalidArgumentError(
      `Expected a lease in milliseconds, a whole number from ${MIN_LEASE_MS} to ${MAX_LEASE_MS} (e.g. 30000).`,
    );
  }
  return value;
}

/**
 * Accepts a worker's `--prefetch`: a whole number from 0 to 10000, or `auto`
 * (the worker decides from job and reserve times), which overrides `WORKER_PREFETCH`.
 */
export function parsePrefetch(text: string): number | 'auto' {
  return wrap(() => parsePrefetchSetting(text) ?? 'auto');
}

/** Accepts a finite number > 0 (seconds, megabytes). */
export function parsePositiveNumber(text: string): number {
  const value = toNumber(text);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(`Expected a number greater than 0 (e.g. 30 or 0.5).`);
  }
  return value;
}

/** Accepts a finite number >= 0 (e.g. `--hours=0` prunes every failed job). */
export function parseNonNegativeNumber(text: string): number {
  const value = toNumber(text);
  if (!Number.isFinite(value) || value < 0) {
    throw new InvalidArgumentError(`Expected a number of 0 or more (e.g. 24).`);
  }
  return value;
}

/** Accepts seconds from now, 0 or more, that end by the year 9999 (a job's `--delay`). */
export function parseDelaySeconds(text: string): number {
  const value = parseNonNegativeNumber(text);
  if (delayedRunAt(value) > LATEST_DISPATCH_MS) {
    throw new InvalidArgumentError(
      `Expected seconds that end by the year 9999; use --run-at for a fixed time.`,
    );
  }
  return value;
}

/** Accepts one queue name (`emails`). */
export function parseQueueName(text: string): string {
  return wrap(() => {
    const name = text.trim();
    assertQueueName(name);
    return name;
  });
}

/** Accepts a comma-separated list of queue names in priority order (`high,default`). */
export function parseQueueNames(text: string): string[] {
  return wrap(() => parseQueueList(text));
}

/** A parser that accepts the text `check` does not throw on, taking its message when it does. */
function checkedBy(check: (text: string) => void): (text: string) => string {
  return (text) =>
    wrap(() => {
      check(text);
      return text;
    });
}

/** Accepts a job name to find jobs by (`SendEmailJob`), as `job:types` prints them. */
export const parseListedJobName = checkedBy((text) => assertJobName(text, LISTED_NAME_HINT));

/** Accepts an owner to find jobs by, or to dispatch one for (`sensor-17`). */
export const parseOwner = checkedBy(assertOwner);

/** Accepts a job's description: one line of text. */
export const parseDescription = checkedBy(assertDescription);

/** Accepts a job id as printed by `queue:failed`. */
export const parseJobId = checkedBy(assertJobId);

/** Accepts the id a new job is given (`job:dispatch --job-id`): any job id but the reserved `all`. */
export const parseNewJobId = checkedBy(assertNewJobId);

/**
 * Accepts job ids for a variadic argument, collecting them into a list.
 *
 * @example
 * new Argument('<ids...>').argParser(collectJobIds);
 */
export function collectJobIds(text: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), parseJobId(text)];
}

/** Accepts a retry delay: `10`, `1,5,30` or `exp:2[:600]` (seconds). */
export function parseBackoff(text: string): RetryPolicy {
  try {
    return parseRetryPolicy(text);
  } catch {
    // The library message describes the object form; on the command line the text form applies.
    throw new InvalidArgumentError(
      'Expected seconds (e.g. 10), seconds per attempt (e.g. 1,5,30) or exp:BASE[:MAX] (e.g. exp:2:600).',
    );
  }
}

/** Accepts a worker name the heartbeat can store (`worker-1`; see `assertWorkerName`). */
export const parseWorkerName = checkedBy(assertWorkerName);
