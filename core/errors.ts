/**
 * The one catalogue of Topiq's errors. Every failure the framework reports is a
 * `TopiqError` subclass with a stable `code`, a message that says what was wrong and
 * what to do, and the underlying `cause` when there is one. `docs/errors.md` lists the
 * same codes; `tests/unit/errors.test.ts` keeps the two in step.
 */

/** Every stable error code, with the one-line meaning the docs repeat. */
export const errorCatalogue = {
  E_INVALID_PAYLOAD: 'A job payload or message payload is not valid (not JSON-safe, or fails its schema).',
  E_JOB_NOT_REGISTERED: 'A job name is not in the registry of the process that met it.',
  E_DUPLICATE_JOB_NAME: 'Two job classes were registered under the same name.',
  E_JOB_TIMEOUT: 'A job attempt ran longer than its timeout.',
  E_LEASE_LOST:
    "A worker's lease on a job expired, was taken over, or may have lapsed (no renewal reached Redis for most of it); its result was not recorded.",
  E_LEASE_EXPIRED:
    'A job was abandoned by crashed workers more times than its maxTries allows, or before it was known to start more than MAX_STALLS times.',
  E_UNRECOVERABLE: 'A job threw UnrecoverableError: it fails for good without further tries.',
  E_JOB_NOT_FOUND: 'No job with that id exists (or its record has expired).',
  E_JOB_STATE: 'The job is not in a state that allows the requested operation.',
  E_JOB_AMBIGUOUS: 'A job id was found in more than one queue and no queue was named.',
  E_JOB_CANCELLED: 'The job was cancelled.',
  E_JOB_EXPIRED: 'The job was not started before its expiresAt.',
  E_QUEUE_NOT_FOUND: 'A queue was named that no job was ever pushed to (a typo, or the wrong QUEUE_PREFIX).',
  E_INVALID_QUEUE_NAME: 'A queue name has characters or a length that Topiq does not accept.',
  E_INVALID_JOB_ID:
    'A job id has characters or a length that Topiq does not accept, or a new job was given the reserved id `all`.',
  E_INVALID_WORKER_NAME: 'A worker name has characters or a length that Topiq does not accept.',
  E_INVALID_OPTION: 'A dispatch or worker option is out of range or of the wrong type.',
  E_INVALID_CONFIG: 'A configuration value read from the environment is missing or invalid.',
  E_QUEUE_NOT_BOUND: 'A job was dispatched statically before an application bound a dispatcher.',
  E_REDIS_UNAVAILABLE: 'Redis did not answer.',
  E_REDIS_AUTH: 'Redis refused the password (or its absence) in REDIS_URL.',
  E_REDIS_WRONG_TYPE:
    'A Redis key Topiq keeps holds a value of another type (set by hand, or by another program under the same prefix).',
  E_BROKER_PORT_IN_USE: "The embedded MQTT broker's port is taken by another process.",
  E_BROKER_UNAVAILABLE: 'The MQTT broker could not be reached.',
  E_INVALID_ROUTE: 'A route pattern or route definition is malformed.',
  E_NEXT_CALLED_TWICE: 'A middleware called next() more than once.',
  E_NEXT_CALLED_LATE:
    'A middleware called next() after it had returned; the rest of the chain did not run (logged).',
  E_INVALID_MESSAGE: 'An MQTT message failed validation; it was sent to the dead-letter store.',
  E_HANDLER_TIMEOUT:
    "A route's middleware and handler ran past MQTT_HANDLER_TIMEOUT_MS for one message; it was sent to the dead-letter store.",
  E_INVALID_TOPIC: 'A topic to publish to is not an MQTT topic name (empty, or with +, # or NUL).',
  E_RATE_LIMITED: 'A device published faster than its rate limit allows.',
  E_STATE_TOO_LARGE: 'A state store merge would make its entry hold more fields or bytes than allowed.',
  E_CLI_USAGE: 'A command line flag or argument is unknown or has a bad value.',
} as const;

/** A stable error code, e.g. `E_JOB_TIMEOUT`. */
export type ErrorCode = keyof typeof errorCatalogue;

/** Base class of every error Topiq throws on purpose. */
export class TopiqError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** True when `error` is a Topiq error, optionally with the given code. */
export function isTopiqError(error: unknown, code?: ErrorCode): error is TopiqError {
  return error instanceof TopiqError && (code === undefined || error.code === code);
}

export class InvalidPayloadError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_PAYLOAD', message, options);
  }
}

export class JobNotRegisteredError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_NOT_REGISTERED', message, options);
  }
}

export class DuplicateJobNameError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_DUPLICATE_JOB_NAME', message, options);
  }
}

export class JobTimeoutError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_TIMEOUT', message, options);
  }
}

export class LeaseLostError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_LEASE_LOST', message, options);
  }
}

export class LeaseExpiredError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_LEASE_EXPIRED', message, options);
  }
}

export class JobNotFoundError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_NOT_FOUND', message, options);
  }
}

export class JobStateError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_STATE', message, options);
  }
}

export class JobAmbiguousError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_AMBIGUOUS', message, options);
  }
}

export class JobCancelledError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_CANCELLED', message, options);
  }
}

export class JobExpiredError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_JOB_EXPIRED', message, options);
  }
}

export class QueueNotFoundError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_QUEUE_NOT_FOUND', message, options);
  }
}

export class InvalidQueueNameError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_QUEUE_NAME', message, options);
  }
}

export class InvalidJobIdError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_JOB_ID', message, options);
  }
}

export class InvalidWorkerNameError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_WORKER_NAME', message, options);
  }
}

export class InvalidOptionError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_OPTION', message, options);
  }
}

export class InvalidConfigError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_CONFIG', message, options);
  }
}

export class QueueNotBoundError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_QUEUE_NOT_BOUND', message, options);
  }
}

export class RedisUnavailableError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS_UNAVAILABLE', message, options);
  }
}

export class RedisAuthError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS_AUTH', message, options);
  }
}

/**
 * A Redis key Topiq keeps (the dead-letter list, say) holds a value of another type: Redis
 * refuses the command with `WRONGTYPE`, and will until the key is deleted or renamed.
 */
export class RedisWrongTypeError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_REDIS_WRONG_TYPE', message, options);
  }
}

export class BrokerPortInUseError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BROKER_PORT_IN_USE', message, options);
  }
}

export class BrokerUnavailableError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_BROKER_UNAVAILABLE', message, options);
  }
}

export class InvalidRouteError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_ROUTE', message, options);
  }
}

export class NextCalledTwiceError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_NEXT_CALLED_TWICE', message, options);
  }
}

export class NextCalledLateError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_NEXT_CALLED_LATE', message, options);
  }
}

export class InvalidMessageError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_MESSAGE', message, options);
  }
}

export class HandlerTimeoutError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_HANDLER_TIMEOUT', message, options);
  }
}

export class InvalidTopicError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_INVALID_TOPIC', message, options);
  }
}

export class RateLimitedError extends TopiqError {
  /**
   * What the limit counts by (`device:<id>` or `client:<id>` by default), when known; a key
   * past 128 characters as `sha1:<hex>`.
   */
  readonly key: string | undefined;
  /** When the key may send again, in ms from when it was refused (0 when unknown). */
  readonly retryAfterMs: number;
  /** The name of the limit that refused it (`rateLimit`'s `name`), when known. */
  readonly limit: string | undefined;

  constructor(
    message: string,
    options?: { cause?: unknown; key?: string; retryAfterMs?: number; limit?: string },
  ) {
    super('E_RATE_LIMITED', message, options);
    this.key = options?.key;
    this.retryAfterMs = options?.retryAfterMs ?? 0;
    this.limit = options?.limit;
  }
}

export class StateTooLargeError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_STATE_TOO_LARGE', message, options);
  }
}

export class CliUsageError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_CLI_USAGE', message, options);
  }
}

/**
 * Thrown from a job's `handle()` to fail the job for good: no further tries, straight to
 * the failed-jobs store.
 *
 * @example
 * if (!user) throw new UnrecoverableError(`user ${payload.userId} does not exist`);
 */
export class UnrecoverableError extends TopiqError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('E_UNRECOVERABLE', message, options);
  }
}
