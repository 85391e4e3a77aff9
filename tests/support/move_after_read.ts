/**
 * A queue driver that moves a job at a chosen moment of a listing, for the tests of `job:list`
 * (`JobManager.listPage`) while jobs change status between its reads.
 */
import type { JobStatus, QueueDriver } from '../../core/queue/driver.js';

/**
 * `driver`, running `move` once right after one of its `listJobs` calls returns its records: the
 * first for `after` when it is a status, the `after`th of all (from 1) when it is a number.
 * `moved()` says whether it ran.
 */
export function moveAfterRead(
  driver: QueueDriver,
  after: JobStatus | number,
  move: () => Promise<unknown>,
): { driver: QueueDriver; moved: () => boolean } {
  let moved = false;
  let calls = 0;
  const wrapped = new Proxy(driver, {
    get(target, property, receiver) {
      if (property === 'listJobs') {
        return async (queue: string, status: JobStatus, offset: number, limit: number) => {
          const records = await target.listJobs(queue, status, offset, limit);
          calls += 1;
          if (!moved && (after === status || after === calls)) {
            moved = true;
            await move();
          }
          return records;
        };
      }
      const value = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { driver: wrapped, moved: () => moved };
}
