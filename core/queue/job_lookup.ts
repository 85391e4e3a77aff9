/** Finding a job by id when its queue may be unknown (CLI and operator APIs). */
import { JobAmbiguousError } from '../errors.js';
import type { JobRecord, QueueDriver } from './driver.js';
import { assertJobId, assertQueueName } from './names.js';

/** The queues to look in: `queue` after validation, or every queue the driver knows. */
export async function queuesToSearch(driver: QueueDriver, queue: string | undefined): Promise<string[]> {
  if (queue === undefined) return driver.queues();
  assertQueueName(queue);
  return [queue];
}

/**
 * The record of job `id` that passes `accept`, or undefined. Ids are unique within a queue,
 * not across queues (a caller may dispatch the same id to two): when no queue is given and
 * more than one queue holds such a record, it throws `E_JOB_AMBIGUOUS` naming them, rather
 * than act on whichever queue sorts first.
 */
export async function findRecord(
  driver: QueueDriver,
  id: string,
  queue: string | undefined,
  accept: (record: JobRecord) => boolean = () => true,
): Promise<JobRecord | undefined> {
  assertJobId(id);
  const found: JobRecord[] = [];
  for (const name of await queuesToSearch(driver, queue)) {
    const record = await driver.getJob(name, id);
    if (record && accept(record)) found.push(record);
  }
  if (found.length > 1) {
    const queues = found.map((record) => `"${record.queue}"`).join(', ');
    throw new JobAmbiguousError(
      `job ${id} is in more than one queue (${queues}): name the one you mean (--queue=<name> on the command line)`,
    );
  }
  return found[0];
}
