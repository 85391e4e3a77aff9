/**
 * The refusal of the in-memory driver where jobs would be lost without a word: under
 * `NODE_ENV=production`, a `serve`, `queue:work` or `job:dispatch` whose `REDIS_URL` went missing
 * would take messages and jobs into a store that ends with the process.
 */
import { InvalidConfigError } from '../errors.js';
import type { QueueSettings } from './settings.js';

/**
 * Throws `E_INVALID_CONFIG` when the in-memory driver was chosen under `NODE_ENV=production`
 * without being asked for (`QueueSettings.memoryInProduction`).
 *
 * @example
 * assertDurableDriver(app.settings.queue); // before serving, working or dispatching
 */
export function assertDurableDriver(settings: QueueSettings): void {
  const problem = durableDriverProblem(settings);
  if (problem) throw new InvalidConfigError(problem);
}

/** What {@link assertDurableDriver} would throw for `settings`, or undefined. */
export function durableDriverProblem(settings: QueueSettings): string | undefined {
  if (!settings.memoryInProduction) return undefined;
  return (
    'NODE_ENV=production and no REDIS_URL: the in-memory driver keeps jobs in this process only, and loses them ' +
    'at a restart; set REDIS_URL, or QUEUE_DRIVER=memory to run without Redis on purpose'
  );
}
