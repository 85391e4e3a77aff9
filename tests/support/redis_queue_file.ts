/**
 * A Redis driver for one test file, on the shared test prefix, whose queues are fresh names
 * deleted (with the driver closed) after the file.
 */
import { afterAll } from 'vitest';
import { RedisQueueDriver } from '../../core/queue/drivers/redis/redis_driver.js';
import { uniqueQueue } from './queue_names.js';
import { deleteKeys } from './redis_keys.js';

/** The prefix of the drivers it makes. */
export const PREFIX = 'topiq-test';

/**
 * Registers the file's cleanup and returns its driver and a maker of fresh queues.
 *
 * @example
 * const { driver, nextQueue } = redisQueueFile();
 * const queue = nextQueue('list-limit');
 */
export function redisQueueFile(): { driver: RedisQueueDriver; nextQueue: (label: string) => string } {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });
  const queues: string[] = [];
  afterAll(async () => {
    for (const queue of queues) await deleteKeys(driver.redis, `${PREFIX}:{${queue}}`);
    await driver.close();
  });
  return {
    driver,
    nextQueue: (label) => {
      const queue = uniqueQueue(label);
      queues.push(queue);
      return queue;
    },
  };
}
