/** Finding a job by id when its queue may be unknown (CLI and operator APIs). */
import type { JobRecord, QueueDriver } from './driver.js';
import { assertJobId, assertQueueName } from './names.js';

/** The queues to look in: `queue` after validation, or every queue the driver knows. */
export async function queuesToSearch(driver: QueueDriver, queue: string | undefined): Promise<string[]> {
  if (queue === undefined) return driver.queues();
  assertQueueName(queue);
  return [queue];
}

/** The first record of job `id` whose status passes `accept`, or undefined. */
export async function findRecord(
  driver: QueueDriver,
  id: string,
  queue: string | undefined,
  accept: (record: JobRecord) => boolean = () => true,
): Promise<JobRecord | undefined> {
  assertJobId(id);
  for (const name of await queuesToSearch(driver, queue)) {
    const record = await driver.getJob(name, id);
    if (record && accept(record)) return record;
  }
  return undefined;
}
