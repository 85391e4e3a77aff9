/**
 * A failed last attempt whose `fail` reached Redis but whose answer was lost, with Redis away
 * longer than recordFailure's six tries: the worker keeps sending the failure until Redis
 * answers (fail_job.lua answers a repeat as its first run), so the job's failed() hook still
 * runs; only the end of a shutdown's grace period leaves it unrecorded.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { Dispatcher, Job, JobRegistry, RedisUnavailableError, Worker } from '../../../core/index.js';
import type { Failure } from '../../../core/queue/driver.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { uniqueQueue } from '../../support/queue_names.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';

const hooks: string[] = [];

class LastTryJob extends Job<{ device: string }> {
  static override readonly jobName = 'LastTryJob';
  static override readonly maxTries = 1;
  async handle(): Promise<void> {
    throw new Error('the device did not answer');
  }
  override async failed(_error: Error, payload: { device: string }): Promise<void> {
    hooks.push(payload.device);
  }
}

const prefix = uniqueQueue('faillost');
const drivers: RedisQueueDriver[] = [];
afterAll(async () => {
  for (const driver of drivers) {
    await deleteKeys(driver.redis, prefix);
    await driver.close();
  }
});

/**
 * A Redis driver whose first `fail` is stored but answered with E_REDIS_UNAVAILABLE (its reply
 * lost), and whose next `away` calls fail the same way before Redis answers again.
 */
function replyLostThenAway(away: number): RedisQueueDriver {
  const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
  drivers.push(driver);
  const fail = driver.fail.bind(driver);
  let calls = 0;
  driver.fail = async (failure: Failure) => {
    calls += 1;
    if (calls === 1) {
      await fail(failure);
      throw new RedisUnavailableError('the connection dropped before the reply came back');
    }
    if (calls <= 1 + away) throw new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer');
    return fail(failure);
  };
  return driver;
}

async function startWorker(driver: RedisQueueDriver, queue: string, device: string) {
  const registry = new JobRegistry().register(LastTryJob);
  await new Dispatcher(driver, registry).dispatch(LastTryJob, { device }, { queue });
  const log = capturingLogger('info');
  const worker = new Worker({ driver, registry, queues: [queue], shutdownGraceMs: 300, log: log.logger });
  return { worker, done: worker.run(), log };
}

describe('a failed last attempt whose answer was lost while Redis stays away', () => {
  it.concurrent('is sent again until Redis answers, and its failed() hook runs once', async () => {
    const queue = uniqueQueue('faillost-answered');
    // six tries of recordFailure, then two more
    const { worker, done, log } = await startWorker(replyLostThenAway(7), queue, 'answered');

    await until('the failed() hook ran', () => hooks.includes('answered'), 20_000);
    worker.stop();
    await done;

    expect(hooks.filter((device) => device === 'answered')).toHaveLength(1);
    expect(log.events('job.fail_waiting')).toHaveLength(1);
    expect(log.events('job.fail_recorded')).toMatchObject([{ outcome: 'failed' }]);
    expect(log.events('job.failed')).toHaveLength(1);
    expect(log.events('job.fail_unrecorded')).toEqual([]);
  }, 30_000);

  it.concurrent('is left unrecorded, saying both possible ends, when the shutdown grace period ends first', async () => {
    const queue = uniqueQueue('faillost-stopped');
    const { worker, done, log } = await startWorker(replyLostThenAway(1_000), queue, 'stopped');

    await until(
      'the worker sends the failure again',
      () => log.events('job.fail_waiting').length === 1,
      20_000,
    );
    worker.stop();
    await done;

    expect(hooks).not.toContain('stopped');
    expect(log.events('job.fail_unrecorded')).toMatchObject([
      { msg: expect.stringMatching(/runs again when its lease expires.*failed without its failed\(\) hook/) },
    ]);
  }, 30_000);
});
