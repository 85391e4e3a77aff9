/**
 * The `Job` base class: a typed payload in, an optional JSON result out. Subclasses set
 * their queue, tries, backoff and timeout as static fields and implement `handle()`.
 * `SomeJob.dispatch(payload)` only compiles with the payload type the class names (`Job<TPayload>`).
 */
import type { Logger } from '../logger.js';
import type { DispatchOptions } from './dispatch_options.js';
import type { JsonValue } from './json.js';
import type { ProgressSteps } from './progress_steps.js';
import { Queue } from './queue_facade.js';
import type { RetryPolicy } from './retry_policy.js';
import type { PayloadSchema } from '../support/schema.js';

export type { PayloadSchema } from '../support/schema.js';

/** What a running job knows about its attempt. */
export interface JobContext {
  readonly jobId: string;
  readonly queue: string;
  /** This attempt's number, 1-based. */
  readonly attempt: number;
  readonly maxTries: number;
  /** Fires on timeout, cancel, lost lease or worker shutdown; `reason` says which. */
  readonly signal: AbortSignal;
  /** Logger bound to job id, name, queue and attempt. */
  readonly log: Logger;
  /**
   * Reports progress (0–100), with an optional message and JSON `data` (partial results, up to
   * 16 KiB encoded; each report replaces the last one's). Writes are coalesced; the last value
   * is always stored.
   */
  progress(percent: number, message?: string, data?: JsonValue): void;
  /**
   * Counts progress in `total` steps (1 to 1,000,000,000): each `advance()` reports the
   * share done through {@link progress}. Throws `E_INVALID_OPTION` for another total.
   *
   * @example
   * const counter = steps(files.length);
   * for (const file of files) {
   *   await upload(file);
   *   counter.advance(1, file.name);
   * }
   */
  steps(total: number): ProgressSteps;
}

/** Type-only key under which a `Job` carries its `TPayload`; nothing is ever stored there. */
declare const payloadType: unique symbol;

/** Type-only brand of {@link NoPayloadNamed}. */
declare const noPayloadNamed: unique symbol;

/**
 * What a `Job` carries under `payloadType` for the `TPayload` of a class that names none
 * (`never`): a `never` there would make such a class no `Job<any>` (`any` does not fit `never`).
 */
interface NoPayloadNamed {
  readonly [noPayloadNamed]: true;
}

/** The payload a `Job<TPayload>` carries under `payloadType`. */
type CarriedPayload<TPayload> = [TPayload] extends [never] ? NoPayloadNamed : TPayload;

/**
 * The payload type of a job: the one the class names in `Job<TPayload>`, else (a class that
 * names none) the one its `handle()` declares, or any JSON value when that declares none. The
 * class's own comes first: TypeScript checks a method's parameter loosely, so a `handle()`
 * declaring a narrower payload (`{ deviceId }` of a `Job<Reading>`), or `unknown` to check it
 * itself, compiles, and read from it alone, a dispatch missing fields, or of anything, would
 * compile too.
 */
export type PayloadOf<J> = J extends { readonly [payloadType]?: (payload: infer P) => unknown }
  ? IsDefaultPayload<P> extends true
    ? HandlePayload<J, [P] extends [NoPayloadNamed] ? JsonValue : P>
    : FitsHandle<J, P>
  : never;

/**
 * `P`, the class's payload, when its `handle()` can take it; else `never`, so that no dispatch
 * of the class compiles: a `handle(payload: { a; b })` of a `Job<{ a }>` would read a `b` no
 * dispatch gives (TypeScript checks the override's parameter loosely, and lets it through).
 */
type FitsHandle<J, P> = J extends { handle(...args: infer A): unknown }
  ? A extends []
    ? P
    : [P] extends [A[0]]
      ? P
      : never
  : P;

/**
 * Whether `P` is what a class that names no payload carries (see {@link Job}), `any`, or
 * `JsonValue` exactly: `Job`'s default before it was `never`, which base classes copy
 * (`abstract class LoggedJob<T = JsonValue> extends Job<T>`), so their subclasses that name none
 * still take the payload of their `handle()`.
 */
type IsDefaultPayload<P> = 0 extends 1 & P
  ? true
  : [P] extends [NoPayloadNamed]
    ? true
    : [P] extends [JsonValue]
      ? [JsonValue] extends [P]
        ? true
        : false
      : false;

/**
 * The payload `J`'s `handle()` declares, or `fallback` when it declares no parameter or one of
 * type `unknown` (to check the payload itself): taken as it is, any payload would compile.
 */
type HandlePayload<J, fallback> = J extends { handle(...args: infer A): unknown }
  ? A extends []
    ? fallback
    : 0 extends 1 & A[0]
      ? A[0] // any (JobClass's own default): any class
      : unknown extends A[0]
        ? fallback
        : A[0]
  : never;
/** `never` for `any`, else `P`: a payload typed `any` must not accept everything. */
type NotAny<P> = 0 extends 1 & P ? never : P;

/**
 * `T` where it is a value JSON keeps as it is; `never` in place of what JSON would change or
 * drop (a `Date`, a `Map` or `Set`, a `bigint`, a function). Interfaces pass, unlike a
 * `JsonValue` bound, which asks for an index signature; so do fields typed `unknown`, which the
 * run-time check at dispatch (`E_INVALID_PAYLOAD`) covers.
 */
export type Jsonable<T> = unknown extends T
  ? T // `unknown` (or `any`) says nothing to check: left to the check at dispatch
  : T extends string | number | boolean | null | undefined
    ? T
    : T extends
          | bigint
          | symbol
          | ((...args: never[]) => unknown)
          | (abstract new (
              ...args: never[]
            ) => unknown)
          | Date
          | Map<unknown, unknown>
          | Set<unknown>
      ? never
      : T extends readonly (infer E)[]
        ? // JSON writes `undefined` in an array as null
          readonly Jsonable<Exclude<E, undefined>>[]
        : T extends object
          ? // a numeric key is written as its digits, and read back as a string key
            { [K in keyof T]: K extends string | number ? Jsonable<T[K]> : never }
          : never;

/**
 * The payload a dispatch of job class `C` takes: its {@link PayloadOf}, read so that a union of
 * classes takes only what every one of them takes, a class whose payload is `any` (typed as a
 * plain `JobClass`, say) takes nothing, and a value JSON would change (a `Date`, a `bigint`...)
 * is refused: it would be stored as something else, or not at all.
 *
 * @example
 * type P = DispatchPayload<typeof SendEmailJob>; // { to: string; subject: string; body: string }
 */
export type DispatchPayload<C> = ClassPayload<C> & Jsonable<ClassPayload<C>>;

/** `PayloadOf` of `C`'s instances, the intersection for a union of classes (read contravariantly). */
type ClassPayload<C> = (
  C extends new () => infer J
    ? (payload: NotAny<PayloadOf<J>>) => void
    : never
) extends (payload: infer P) => void
  ? P
  : never;

/** The value a job's `handle()` resolves to. */
export type ResultOf<J> = J extends { handle(...args: never[]): Promise<infer R> } ? R : never;

/**
 * A concrete job class (its constructor takes no arguments) whose `handle()` takes the payload
 * of `J`. That is checked on `handle` as a property, strictly: compared as the method it is
 * declared as, its parameter is checked loosely, and a class whose `handle(p: { a; b })` reads
 * more than its `Job<{ a }>` would pass for a `JobClass<Job<{ a }>>` (in a helper's parameter,
 * a list) and be dispatched without `b`.
 */
export type JobClass<J extends AnyJob = Job<any, any>> = (new () => J & {
  handle: (payload: PayloadOf<J>, context: JobContext) => unknown;
}) &
  JobSettings;

/**
 * Any job, for a constraint: `Job` alone is a job that names no payload (`Job<never>`), which
 * TypeScript does not take for `Job<any, any>` (it compares the payloads both ways), so
 * `JobClass<Job>` is said here to be any job class too.
 */
type AnyJob = Job<any, any> | Job<never, any>;

/** Per-class settings; unset ones fall back to the worker's flags, then the defaults. */
export interface JobSettings {
  /** Stable registry name; defaults to the class name (not inherited). Keep it when renaming the class. */
  readonly jobName?: string;
  /** Queue to dispatch to (default `"default"`). */
  readonly queue?: string;
  /** Tries before the job fails for good (default 3, or the worker's `--tries`). */
  readonly maxTries?: number;
  /** Seconds between tries (default 0, or the worker's `--backoff`). */
  readonly retryAfter?: RetryPolicy;
  /** Seconds one attempt may run (default 60, or the worker's `--timeout`). */
  readonly timeout?: number;
  /** Default priority; lower runs first (default 0). */
  readonly priority?: number;
  /** Validates payloads that arrive by job name (CLI, MQTT command topic). */
  readonly schema?: PayloadSchema<unknown>;
}

/**
 * Base class of every job. A class that names no payload (`extends Job`) takes the one its
 * `handle()` declares; its `TPayload` defaults to `never` for that: the one type every
 * `handle()` parameter can override, an interface too (one without an index signature is no
 * `JsonValue`). {@link PayloadOf} reads it as "none named".
 *
 * @example
 * export class SendEmailJob extends Job<{ to: string; subject: string }> {
 *   static override queue = 'emails';
 *   static override maxTries = 5;
 *   static override retryAfter = { type: 'exponential', base: 2, jitter: 'full' } as const;
 *
 *   async handle({ to, subject }: { to: string; subject: string }, { signal }: JobContext) {
 *     await mailer.send({ to, subject, signal });
 *   }
 * }
 *
 * const id = await SendEmailJob.dispatch({ to: 'ops@example.com', subject: 'Door open' });
 */
export abstract class Job<TPayload = never, TResult extends JsonValue | void = void> {
  static readonly jobName?: string;
  static readonly queue?: string;
  static readonly maxTries?: number;
  static readonly retryAfter?: RetryPolicy;
  static readonly timeout?: number;
  static readonly priority?: number;
  static readonly schema?: PayloadSchema<unknown>;

  /**
   * The class's `TPayload`, for {@link PayloadOf} (types only). A function of it, so that a class
   * is assignable only to one of the same payload: a class whose payload has more fields is not
   * taken for one with fewer (`typeof B` where `typeof A` is asked), which would dispatch B
   * without them.
   */
  declare readonly [payloadType]?: (payload: CarriedPayload<TPayload>) => CarriedPayload<TPayload>;

  /** Runs the job. Throw to fail the attempt; `UnrecoverableError` fails it for good. */
  abstract handle(payload: TPayload, context: JobContext): Promise<TResult>;

  /** Runs once when the job has failed for good (tries used up, unrecoverable, abandoned). */
  failed?(error: Error, payload: TPayload, context: FailedJobContext): Promise<void> | void;

  /**
   * Dispatches this job through the bound application's dispatcher; resolves to its id. Every
   * error, `E_QUEUE_NOT_BOUND` when no application or fake is bound included, is a rejection.
   *
   * @example
   * await ProcessSensorDataJob.dispatch({ deviceId: 'd1', temperature: 21.5 }, { priority: -1 });
   */
  static async dispatch<C extends JobClass>(
    this: C,
    payload: DispatchPayload<C>,
    options?: DispatchOptions,
  ): Promise<string> {
    return Queue.dispatcher().dispatch(this, payload, options);
  }

  /**
   * Dispatches many payloads of this job in one round trip per queue; resolves to their ids.
   * The options apply to each; a `jobId` does not (one id for many jobs would be refused): give
   * ids per job with `dispatcher.dispatchMany`.
   */
  static async dispatchMany<C extends JobClass>(
    this: C,
    payloads: readonly DispatchPayload<C>[],
    options?: Omit<DispatchOptions, 'jobId'>,
  ): Promise<string[]> {
    return Queue.dispatcher().dispatchMany(payloads.map((payload) => ({ job: this, payload, options })));
  }
}

/** What `failed()` is told about the job. */
export interface FailedJobContext {
  readonly jobId: string;
  readonly queue: string;
  readonly attempts: number;
  readonly log: Logger;
}

/**
 * The registry name of a job class: its own `jobName`, else its class name. A subclass does not
 * inherit its parent's `jobName`: it is another job, and under its parent's name it would be
 * counted, asserted and run as the parent.
 */
export function jobNameOf(job: JobSettings & { name: string }): string {
  return (Object.hasOwn(job, 'jobName') ? job.jobName : undefined) ?? job.name;
}
