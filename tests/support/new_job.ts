/** Jobs to push straight to a queue driver. */
import type { NewJob } from '../../core/queue/driver.js';

/** An `EchoJob` of `queue` with an empty payload, one try and priority 0, unless `extra` says otherwise. */
export function newJob(queue: string, id: string, extra: Partial<NewJob> = {}): NewJob {
  return { id, name: 'EchoJob', queue, payload: '{}', maxTries: 1, priority: 0, ...extra };
}
