/**
 * Validation of the names that end up inside Redis keys and records: queue names, job ids,
 * job names and worker names. Untrusted input (CLI arguments, MQTT topics) passes through
 * here before any key is built.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import {
  InvalidJobIdError,
  InvalidOptionError,
  InvalidQueueNameError,
  InvalidWorkerNameError,
} from '../errors.js';

const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/;
/** Job ids, worker names and state ids: 1-128 of `A-Z a-z 0-9 _ . : -`, a letter or digit first. */
const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;
const JOB_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

/**
 * Whether `value` is an id Topiq accepts as a job id, a worker name or a state id: 1-128 of
 * `A-Z a-z 0-9 _ . : -`, starting with a letter or digit. Such an id goes into Redis keys, MQTT
 * topics and log lines as it is; hash any other text to one (see the example app's
 * `deviceStateId`).
 *
 * @example
 * isSafeId('sensor-17'); // true
 * isSafeId('lobby sensor'); // false: a space
 * isSafeId('x'.repeat(129)); // false: too long
 */
export function isSafeId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_ID.test(value);
}

/**
 * Whether the queue, id and name of `job` all pass the rules of this module, as every job
 * Topiq stores does (or the name is empty: a job whose stored spec was damaged is reported
 * without one). For jobs named by messages anyone with access to the Redis could have sent
 * (job events on Pub/Sub), before their names build an MQTT topic.
 */
export function hasValidNames(job: {
  readonly queue: unknown;
  readonly id: unknown;
  readonly name: unknown;
}): boolean {
  const { queue, id, name } = job;
  return (
    typeof queue === 'string' &&
    QUEUE_NAME.test(queue) &&
    isSafeId(id) &&
    typeof name === 'string' &&
    (name === '' || JOB_NAME.test(name))
  );
}

/**
 * Throws `E_INVALID_OPTION` unless `name` is a job name Topiq stores: a letter, then up to
 * 127 of `A-Z a-z 0-9 _ . : -`. A job's name is the first line of its stored spec, so it can
 * never hold a line break. `hint` ends the message: what to do instead.
 */
export function assertJobName(name: string, hint = '(set a different static jobName on the class)'): void {
  if (!JOB_NAME.test(name)) {
    throw new InvalidOptionError(
      `job name ${JSON.stringify(name)} is not allowed: start with a letter, then up to 127 of A-Z a-z 0-9 _ . : - ${hint}`,
    );
  }
}

/** The end of the message for a job name given to find jobs by, which no job can have. */
export const LISTED_NAME_HINT = '(`npx topiq job:types` lists the registered names)';

/** Throws `E_INVALID_QUEUE_NAME` unless `name` is 1–64 of `A-Z a-z 0-9 _ . : -`. */
export function assertQueueName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !QUEUE_NAME.test(name)) {
    throw new InvalidQueueNameError(
      `queue name ${JSON.stringify(name)} is not allowed: use 1-64 characters from A-Z a-z 0-9 _ . : - ` +
        'starting with a letter or digit (e.g. "emails", "telemetry-high")',
    );
  }
}

/** Throws `E_INVALID_JOB_ID` unless `id` is 1–128 of `A-Z a-z 0-9 _ . : -`, starting with a letter or digit. */
export function assertJobId(id: unknown): asserts id is string {
  if (!isSafeId(id)) {
    throw new InvalidJobIdError(
      `job id ${JSON.stringify(id)} is not allowed: use 1-128 characters from A-Z a-z 0-9 _ . : -, starting with a letter or digit ` +
        '(ids printed by `npx topiq job:list` or returned by dispatch() are always valid)',
    );
  }
}

/**
 * The id a dispatched job may not take: `queue:retry all` means every failed job, so a job of
 * that id could never be retried alone.
 */
export const RESERVED_JOB_ID = 'all';

/**
 * As {@link assertJobId}, for the id a new job is given (`DispatchOptions.jobId`, `--job-id`):
 * {@link RESERVED_JOB_ID} is refused too.
 */
export function assertNewJobId(id: unknown): asserts id is string {
  assertJobId(id);
  if (id === RESERVED_JOB_ID) {
    throw new InvalidJobIdError(
      `job id "${RESERVED_JOB_ID}" is reserved: \`npx topiq queue:retry ${RESERVED_JOB_ID}\` means every failed job, ` +
        'so a job of that id could not be retried alone; choose another id',
    );
  }
}

/**
 * Throws `E_INVALID_WORKER_NAME` unless `name` is 1–128 of `A-Z a-z 0-9 _ . : -` starting with
 * a letter or digit: a worker's heartbeat is stored under its name, so `queue:workers` lists
 * only workers whose names pass.
 *
 * @example
 * assertWorkerName('worker-1'); // passes
 * assertWorkerName('w{1}'); // throws InvalidWorkerNameError
 */
export function assertWorkerName(name: unknown): asserts name is string {
  // worker names follow the job id rule
  if (!isSafeId(name)) {
    throw new InvalidWorkerNameError(
      `worker name ${JSON.stringify(name)} is not allowed: use 1-128 characters from A-Z a-z 0-9 _ . : - ` +
        'starting with a letter or digit (e.g. "worker-1")',
    );
  }
}

/**
 * The name of a worker not given one, `host:pid:random`, always one {@link assertWorkerName}
 * accepts: in the host name, runs of other characters become `-`, leading ones are dropped and
 * it is cut to 64 characters (`worker` when nothing is left).
 *
 * @example
 * defaultWorkerName('web_01.example.com', 4242); // 'web_01.example.com:4242:9f3a1c'
 */
export function defaultWorkerName(host: string = os.hostname(), pid: number = process.pid): string {
  const safeHost =
    host
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '')
      .slice(0, 64) || 'worker';
  return `${safeHost}:${pid}:${randomBytes(3).toString('hex')}`;
}

/** Parses `high,default` into validated queue names, in order, without duplicates. */
export function parseQueueList(list: string): string[] {
  const names = list
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.length > 0);
  if (names.length === 0) {
    throw new InvalidQueueNameError('no queue named: pass one or more names, e.g. --queue=high,default');
  }
  for (const name of names) assertQueueName(name);
  return [...new Set(names)];
}

/** The queues of `items`, each once, in order: log lines list job ids, which are unique per queue only. */
export function distinctQueues(items: readonly { queue: string }[]): string[] {
  return [...new Set(items.map((item) => item.queue))];
}

/**
 * The fields every log line about a job attempt carries: its handler's own log (`ctx.log`) and
 * the worker's lines about it alike.
 */
export function jobFields(job: { id: string; name: string; queue: string; attempt: number }) {
  return { jobId: job.id, job: job.name, queue: job.queue, attempt: job.attempt };
}
