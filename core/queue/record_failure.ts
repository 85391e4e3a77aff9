/**
 * Recording a failed attempt: what a thrown value is stored and logged as (made an Error that
 * can be described without throwing, its message and stack cut to a size), and sending the
 * failure through a Redis outage. A `fail` call can reach Redis and lose its reply; sent again
 * for the same lease, it gets the outcome of its first run (fail_job.lua), so trying again is
 * safe and learns what happened instead of taking the job for lost.
 */
import { cutChars } from '../support/text.js';
import { isTopiqError } from '../errors.js';
import type { Logger } from '../logger.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { jitteredBackoffMs, retryUntilDone } from '../support/retry.js';
import type { Failure, FailResult, QueueDriver, StoredError } from './driver.js';

/** The longest error message kept on a record, in the failed store, in events and log lines (characters). */
export const MAX_ERROR_MESSAGE_LENGTH = 8 * 1024;
/** The longest error stack kept on a record, in the failed store and in log lines (characters). */
export const MAX_ERROR_STACK_LENGTH = 32 * 1024;
/** The longest error code kept (characters): a code is a short name, such as `E_QUOTA`. */
export const MAX_ERROR_CODE_LENGTH = 256;

/**
 * A thrown value as an Error whose `name`, `message`, `stack`, `code` and other own fields read
 * without throwing. Such an Error is returned as is, for the `failed()` hook to get; anything
 * else gets a new Error describing it: a string or another primitive as its text, a plain
 * object's string `message` and `code` kept, an object with no prototype, a Proxy, or an Error
 * whose getters throw by what can still be read. Never throws.
 *
 * @example
 * thrownError({ message: 'quota exceeded', code: 'E_QUOTA' }); // Error 'quota exceeded', code 'E_QUOTA'
 */
export function thrownError(caught: unknown): Error {
  if (readsSafely(caught)) return caught;
  const isError = attempt(() => caught instanceof Error) ?? false;
  const message =
    attempt(() => ownString(caught, 'message')) ??
    (isError ? 'an Error whose message could not be read' : describe(caught));
  const error = new Error(message);
  const code = attempt(() => ownString(caught, 'code'));
  if (code !== undefined) Object.assign(error, { code });
  const name = isError ? attempt(() => ownString(caught, 'name')) : undefined;
  if (name !== undefined) error.name = name;
  // an Error keeps its own stack when it can be read; a value thrown as is has none, and the
  // frames of this function would only mislead
  const stack = isError ? attempt(() => ownString(caught, 'stack')) : undefined;
  error.stack = stack ?? `${error.name}: ${message}`;
  return error;
}

/** An error as a record, the failed store and events keep it: message and stack cut to size. */
export function storedError(error: Error): StoredError {
  const fullCode = errorCode(error);
  const code = fullCode === undefined ? undefined : cutChars(fullCode, MAX_ERROR_CODE_LENGTH);
  const message = cutChars(attempt(() => String(error.message)) ?? describe(error), MAX_ERROR_MESSAGE_LENGTH);
  const stack = attempt(() => error.stack);
  return {
    message,
    ...(code ? { code } : {}),
    ...(typeof stack === 'string' && stack ? { stack: cutChars(stack, MAX_ERROR_STACK_LENGTH) } : {}),
  };
}

/**
 * `error` as a log line's `err`: itself (with its own fields) when its message, stack and
 * code are within {@link MAX_ERROR_MESSAGE_LENGTH}, {@link MAX_ERROR_STACK_LENGTH} and
 * {@link MAX_ERROR_CODE_LENGTH} and no field of its own is a string or bytes over
 * {@link MAX_ERROR_MESSAGE_LENGTH} (an HTTP client's error carrying the response body), else
 * a copy with those cut and its other fields kept, so one huge error does not make a log line
 * megabytes long.
 */
export function loggedError(error: Error): Error {
  const message = attempt(() => error.message) ?? '';
  const stack = attempt(() => error.stack);
  const fields = attempt(() => Object.entries(error)) ?? [];
  const large = fields.some(([key, value]) => key !== 'message' && key !== 'stack' && longField(value));
  if (
    !large &&
    message.length <= MAX_ERROR_MESSAGE_LENGTH &&
    (stack?.length ?? 0) <= MAX_ERROR_STACK_LENGTH &&
    (errorCode(error)?.length ?? 0) <= MAX_ERROR_CODE_LENGTH
  ) {
    return error;
  }
  const { message: cut, code, stack: cutStack } = storedError(error);
  const copy = new Error(cut);
  for (const [key, value] of fields) {
    // a string code is stored cut (below); one of another kind (an HTTP status) as it is
    if (key === 'message' || key === 'stack' || (key === 'code' && typeof value === 'string')) continue;
    (copy as unknown as Record<string, unknown>)[key] = shortField(value);
  }
  if (code) Object.assign(copy, { code });
  copy.name = attempt(() => error.name) ?? 'Error';
  copy.stack = cutStack ?? `${copy.name}: ${cut}`;
  return copy;
}

/** Whether a field of an error is a string or bytes longer than {@link MAX_ERROR_MESSAGE_LENGTH}. */
function longField(value: unknown): boolean {
  if (typeof value === 'string') return value.length > MAX_ERROR_MESSAGE_LENGTH;
  return ArrayBuffer.isView(value) && value.byteLength > MAX_ERROR_MESSAGE_LENGTH;
}

/** A field of an error as a log line keeps it: a long string cut, long bytes by their size. */
function shortField(value: unknown): unknown {
  if (typeof value === 'string') return cutChars(value, MAX_ERROR_MESSAGE_LENGTH);
  if (ArrayBuffer.isView(value) && value.byteLength > MAX_ERROR_MESSAGE_LENGTH) {
    return `[${value.byteLength} bytes]`;
  }
  return value;
}

/** An error's string `code`, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = attempt(() => (error as { code?: unknown } | null)?.code);
  return typeof code === 'string' ? code : undefined;
}

/** Whether `value` is an Error whose fields a log serializer and the stored form can all read. */
function readsSafely(value: unknown): value is Error {
  return (
    attempt(() => {
      if (!(value instanceof Error)) return false;
      const { name, message, stack } = value;
      if (typeof name !== 'string' || typeof message !== 'string') return false;
      if (stack !== undefined && typeof stack !== 'string') return false;
      // what pino's error serializer reads: each own enumerable field, and the cause
      for (const key of Object.keys(value)) void (value as unknown as Record<string, unknown>)[key];
      void value.cause;
      return true;
    }) ?? false
  );
}

/** A field of `value` when it is a string; undefined for none or another type. */
function ownString(value: unknown, key: string): string | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const field = (value as Record<string, unknown>)[key];
  return typeof field === 'string' ? field : undefined;
}

/** Text for a thrown value: its string form, a plain object's JSON, or its type tag. */
function describe(value: unknown): string {
  if (typeof value === 'string') return value;
  const text = attempt(() => String(value));
  if (text !== undefined && text !== '[object Object]') return text;
  const json = attempt(() => JSON.stringify(value));
  if (json !== undefined && json !== '{}') return cutChars(json, MAX_ERROR_MESSAGE_LENGTH);
  return attempt(() => Object.prototype.toString.call(value)) ?? 'a thrown value that cannot be described';
}

/** `read()`, or undefined when it throws. */
function attempt<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/**
 * Tries of a failed attempt's record that log `job.fail_retry` before `recordFailure` logs that
 * it waits for Redis; and the tries `whileRedisPasses` makes before it gives up.
 */
export const FAIL_TRIES = 6;

/**
 * Error codes of a Redis that is starting, failing over or busy with a script, or out of
 * memory, disk or replicas for now: they pass. Each refuses a command before it writes
 * anything (a script is refused at its first write), so the call may be sent again.
 */
export const PASSING_REDIS_STATES = [
  'LOADING',
  'BUSY',
  'READONLY',
  'TRYAGAIN',
  'MASTERDOWN',
  'CLUSTERDOWN',
  'OOM',
  'MISCONF',
  'NOREPLICAS',
];
/** A reply that starts with one of {@link PASSING_REDIS_STATES}. */
export const PASSING_REPLY = new RegExp(`^(${PASSING_REDIS_STATES.join('|')})\\b`);

/** Whether `error` means Redis is away or answers that it will be back: a call may be sent again. */
export function isPassingRedisError(error: unknown): boolean {
  return (
    isTopiqError(error, 'E_REDIS_UNAVAILABLE') ||
    (error instanceof Error && PASSING_REPLY.test(error.message))
  );
}

/**
 * Sends `failure` until Redis records it, again while Redis cannot be reached or answers that it
 * will be back ({@link isPassingRedisError}: `LOADING`, `READONLY`, `BUSY`, `OOM` and the like);
 * any other error is thrown at once. Its first {@link FAIL_TRIES} tries wait 0.1-0.2 s at first,
 * doubling, jittered (3-6 s in all), each retry logged `job.fail_retry`. Past them it logs
 * `job.fail_waiting` and goes on, its backoff starting over (up to 5 s), until Redis answers
 * (`job.fail_recorded`) or `signal` aborts, ending a wait at once: giving up sooner would leave a
 * job whose failure Redis did record (its reply lost) failed for good without its `failed()`
 * hook. A failure whose signal has aborted already still gets its {@link FAIL_TRIES} tries. The
 * last error is thrown. `log` is the job's logger, bound to its id and queue: its lines do not
 * repeat them (a strict JSON reader refuses a line with a key twice).
 *
 * @example
 * const result = await recordFailure(driver, { lease, error, retryInMs: null }, log, { signal: graceOver });
 */
export async function recordFailure(
  driver: QueueDriver,
  failure: Failure,
  log: Logger,
  { signal }: { signal?: AbortSignal | undefined } = {},
): Promise<FailResult> {
  for (let tries = 1; ; tries++) {
    try {
      const result = await driver.fail(failure);
      if (tries > FAIL_TRIES) {
        log.info({ event: 'job.fail_recorded', outcome: result.outcome }, 'the failed attempt is recorded');
      }
      return result;
    } catch (error) {
      const waiting = tries >= FAIL_TRIES;
      if (!isPassingRedisError(error) || (waiting && signal?.aborted)) throw error;
      // as retryUntilDone waits, but from the start again once waiting: the first wait is none
      const retryInMs = jitteredBackoffMs(waiting ? tries - FAIL_TRIES : tries);
      if (!waiting) {
        log.warn(
          { event: 'job.fail_retry', err: error, tries, retryInMs },
          'could not record the failed attempt; trying again',
        );
      } else if (tries === FAIL_TRIES) {
        log.warn(
          { event: 'job.fail_waiting', err: error },
          'could not record the failed attempt yet; sending it again until Redis answers or the worker has stopped',
        );
      }
      await sleep(retryInMs, undefined, waiting && signal ? { signal } : undefined).catch(() => {
        throw error; // the signal aborted while waiting
      });
    }
  }
}

/**
 * Runs a driver call that is safe to send again (its script answers a repeat as its first run),
 * again while Redis passes ({@link isPassingRedisError}), up to {@link FAIL_TRIES} tries; each
 * failed try is reported to `onError`. Any other error, or the last one, is thrown.
 */
export function whileRedisPasses<T>(
  operation: () => Promise<T>,
  onError: (error: unknown, retryInMs: number, tries: number) => void,
): Promise<T> {
  return retryUntilDone(operation, {
    giveUp: (error, tries) => tries >= FAIL_TRIES || !isPassingRedisError(error),
    onError,
  });
}
