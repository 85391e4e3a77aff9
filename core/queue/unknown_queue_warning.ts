/**
 * The warning a worker logs as it starts for each queue it serves that nothing seems to feed:
 * no registered job class names it (`static queue`) and no job was ever pushed to it. That is
 * most often a typo in `--queue` or `WORKER_QUEUES` (`emials`), which would otherwise leave the
 * worker waiting in silence while the jobs pile up elsewhere. The worker serves the queue all
 * the same (a job may yet be dispatched to it with `{ queue }`), so it warns and does not refuse.
 */
import type { Logger } from '../logger.js';
import type { QueueDriver } from './driver.js';
import { quoted, unknownQueues } from './job_lookup.js';
import type { JobRegistry } from './registry.js';

/**
 * Logs `worker.unknown_queue` (warn) naming those of `queues` that no class of `registry` names
 * and that hold no job and never had one pushed. `default` is never warned of: a worker serves it
 * unless told otherwise. Never throws: when the driver cannot answer (Redis away), it says
 * nothing, as the worker's own reserve reports that.
 *
 * @example
 * void warnOfUnknownQueues(driver, registry, ['emials'], log); // warns: no class names "emials"
 */
export async function warnOfUnknownQueues(
  driver: QueueDriver,
  registry: JobRegistry,
  queues: readonly string[],
  log: Logger,
): Promise<void> {
  const named = new Set(registry.classes().map((job) => job.queue ?? 'default'));
  const unnamed = queues.filter((queue) => queue !== 'default' && !named.has(queue));
  if (unnamed.length === 0) return;
  let unknown: string[];
  try {
    ({ unknown } = await unknownQueues(driver, unnamed));
  } catch {
    return;
  }
  if (unknown.length === 0) return;
  const jobQueues = [...named].sort();
  const it = unknown.length === 1 ? 'it' : 'them';
  log.warn(
    { event: 'worker.unknown_queue', queues: unknown, jobQueues },
    `no job class names ${unknown.length === 1 ? 'queue' : 'queues'} ${quoted(unknown)} and no job was ever ` +
      `pushed to ${it}: a typo in --queue or WORKER_QUEUES? ` +
      (jobQueues.length === 0
        ? 'No job class is registered. '
        : `The job classes go to ${quoted(jobQueues)}. `) +
      `The worker serves ${it} anyway, for jobs dispatched there with { queue }`,
  );
}
