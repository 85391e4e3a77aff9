/** Waiting in tests for a condition that another process or connection brings about. */
import { sleep } from './queue_names.js';

/**
 * Resolves once `check` holds, polling every 20 ms; after `timeoutMs` it throws, naming `what`
 * and adding `details()` (a string as it is, anything else as JSON) to say what was seen.
 *
 * @example
 * await until('the job completed', async () => (await jobs.find(id))?.status === 'completed');
 */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  details: () => unknown = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      const seen = await details();
      throw new Error(
        `${what}: not within ${timeoutMs} ms ${typeof seen === 'string' ? seen : JSON.stringify(seen)}`,
      );
    }
    await sleep(20);
  }
}
