/**
 * The allowlist of job classes a process knows, by stable name. A stored job names its
 * class; only names registered here can ever be instantiated, so a payload can never
 * pick an arbitrary class. Unknown names fail with `E_JOB_NOT_REGISTERED`.
 */
import { DuplicateJobNameError, InvalidOptionError, JobNotRegisteredError } from '../errors.js';
import { MAX_TRIES } from './dispatch_options.js';
import { type JobClass, jobNameOf } from './job.js';
import { assertJobName, assertQueueName } from './names.js';
import { assertRetryPolicy } from './retry_policy.js';

/**
 * Job classes by name.
 *
 * @example
 * const registry = new JobRegistry().register(SendEmailJob, ProcessSensorDataJob);
 * registry.get('SendEmailJob'); // SendEmailJob
 */
export class JobRegistry {
  readonly #jobs = new Map<string, JobClass>();

  /** Adds job classes; throws `E_DUPLICATE_JOB_NAME` when a name is taken by another class. */
  register(...jobs: JobClass[]): this {
    for (const job of jobs) {
      const name = jobNameOf(job);
      assertJobName(name);
      const existing = this.#jobs.get(name);
      if (existing && existing !== job) {
        throw new DuplicateJobNameError(
          `two job classes are registered as "${name}": give one a different static jobName`,
        );
      }
      validateSettings(job, name);
      this.#jobs.set(name, job);
    }
    return this;
  }

  /** The class registered as `name`; throws `E_JOB_NOT_REGISTERED` otherwise. */
  get(name: string): JobClass {
    const job = this.#jobs.get(name);
    if (!job) {
      throw new JobNotRegisteredError(
        `no job is registered as "${name}": add its class to the job list in app/jobs/index.ts ` +
          `(known: ${this.names().join(', ') || 'none'})`,
      );
    }
    return job;
  }

  has(name: string): boolean {
    return this.#jobs.has(name);
  }

  names(): string[] {
    return [...this.#jobs.keys()].sort();
  }

  classes(): JobClass[] {
    return [...this.#jobs.values()];
  }
}

function validateSettings(job: JobClass, name: string): void {
  if (job.queue !== undefined) assertQueueName(job.queue);
  const positive = (value: number | undefined, field: string, integer: boolean) => {
    if (value === undefined) return;
    if (!Number.isFinite(value) || value <= 0 || (integer && !Number.isInteger(value))) {
      throw new InvalidOptionError(`${name}.${field} must be a positive ${integer ? 'integer' : 'number'}`);
    }
  };
  positive(job.maxTries, 'maxTries', true);
  // the dispatcher's bound, refused here so the class fails at startup, not at its first dispatch
  if (job.maxTries !== undefined && job.maxTries > MAX_TRIES) {
    throw new InvalidOptionError(
      `${name}.maxTries must be at most ${MAX_TRIES.toLocaleString('en')} tries; got ${job.maxTries}`,
    );
  }
  positive(job.timeout, 'timeout', false);
  if (job.retryAfter !== undefined) assertRetryPolicy(job.retryAfter, `${name}.retryAfter`);
  if (job.priority !== undefined) assertPriority(job.priority, `${name}.priority`);
}

/** Throws `E_INVALID_OPTION` unless `priority` is an integer in [-1000, 1000]. */
export function assertPriority(priority: unknown, label = 'priority'): asserts priority is number {
  if (typeof priority !== 'number' || !Number.isInteger(priority) || priority < -1000 || priority > 1000) {
    throw new InvalidOptionError(
      `${label} must be an integer from -1000 (first) to 1000 (last); got ${priority}`,
    );
  }
}
