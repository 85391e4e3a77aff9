/** Finding a job by id when its queue may be unknown (CLI and operator APIs). */
import { isTopiqError, JobAmbiguousError, QueueNotFoundError } from '../errors.js';
import type { JobRecord, QueueDriver } from './driver.js';
import { assertJobId, assertQueueName } from './names.js';

/** The queues to look in: `queue` after validation, or every queue the driver knows. */
export async function queuesToSearch(driver: QueueDriver, queue: string | undefined): Promise<string[]> {
  if (queue === undefined) return driver.queues();
  assertQueueName(queue);
  return [queue];
}

/** How many known queues an `E_QUEUE_NOT_FOUND` message names (the first by name). */
const LISTED_QUEUES = 50;

/**
 * Throws `E_QUEUE_NOT_FOUND` when a name in `names` is not among `driver.queues()` (the queues
 * that ever had a job pushed) and holds no job either, naming them and the queues there are, so
 * that an operator's typo is not read as an empty queue. For the operator commands that read or
 * change a queue (the API, `app.jobs` and `FailedJobs`, answers as for an empty queue); not for
 * a worker (it may serve a queue before its first job) nor for a dispatch (which creates it).
 *
 * @example
 * await assertKnownQueues(app.driver, ['emails']); // E_QUEUE_NOT_FOUND when none was ever pushed to it
 */
export async function assertKnownQueues(driver: QueueDriver, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const { unknown, known } = await unknownQueues(driver, names);
  if (unknown.length === 0) return;
  const which =
    unknown.length === 1
      ? `no queue is named ${quoted(unknown)}: no job was ever pushed to it`
      : `no queues are named ${quoted(unknown)}: no job was ever pushed to them`;
  const sorted = [...known].sort();
  const more =
    sorted.length > LISTED_QUEUES
      ? ` and ${sorted.length - LISTED_QUEUES} more (\`npx topiq queue:size\` lists them all)`
      : '';
  const there =
    known.length === 0
      ? 'there are no queues yet (none has had a job pushed, under this QUEUE_PREFIX)'
      : `the queues are ${quoted(sorted.slice(0, LISTED_QUEUES))}${more}`;
  throw new QueueNotFoundError(`${which}; ${there}`);
}

/** Queue names for a message: `"a", "b"`. */
export function quoted(names: readonly string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}

/**
 * The names in `names` (each once) that are not among `driver.queues()` (the queues that ever had
 * a job pushed) and hold no job either, and the queues the driver knows.
 */
export async function unknownQueues(
  driver: QueueDriver,
  names: readonly string[],
): Promise<{ unknown: string[]; known: string[] }> {
  const known = await driver.queues();
  const unlisted = [...new Set(names)].filter((name) => !known.includes(name));
  // a queue that holds jobs is known whatever the list says (Redis may have lost its set key,
  // which a running app writes only at its first push to each queue)
  const unknown: string[] = [];
  for (const name of unlisted) {
    const counts = await driver.counts(name);
    if (Object.values(counts).every((count) => count === 0)) unknown.push(name);
  }
  return { unknown, known };
}

/**
 * The record of job `id` that passes `accept`, or undefined. Ids are unique within a queue,
 * not across queues (a caller may dispatch the same id to two): when no queue is given and
 * more than one queue holds such a record, it throws `E_JOB_AMBIGUOUS` naming them, rather
 * than act on whichever queue sorts first. `searched` is what {@link queuesToSearch} gave for
 * `queue`, when a caller looking up many ids listed the queues once.
 */
export async function findRecord(
  driver: QueueDriver,
  id: string,
  queue: string | undefined,
  accept: (record: JobRecord) => boolean = () => true,
  searched?: readonly string[],
): Promise<JobRecord | undefined> {
  assertJobId(id);
  const found: JobRecord[] = [];
  // a queue whose key of that id holds another type (E_REDIS_WRONG_TYPE): told only when no
  // other queue holds the job, so a damaged key in one queue does not hide the job in another
  let damaged: unknown;
  for (const name of searched ?? (await queuesToSearch(driver, queue))) {
    let record: JobRecord | undefined;
    try {
      record = await driver.getJob(name, id);
    } catch (error) {
      if (queue !== undefined || !isTopiqError(error, 'E_REDIS_WRONG_TYPE')) throw error;
      damaged ??= error;
      continue;
    }
    if (record && accept(record)) found.push(record);
  }
  if (found.length === 0 && damaged !== undefined) throw damaged;
  if (found.length > 1) {
    const queues = found.map((record) => `"${record.queue}"`).join(', ');
    throw new JobAmbiguousError(
      `job ${id} is in more than one queue (${queues}): name the one you mean (--queue=<name> on the command line)`,
    );
  }
  return found[0];
}
