/**
 * A worker told to serve a queue that nothing feeds (`--queue=emials`) says so as it starts,
 * rather than wait in silence while the jobs pile up in `emails`; it still serves that queue.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { Dispatcher, Job, JobRegistry, Worker } from '../../../core/index.js';
import { RedisQueueDriver } from '../../../core/queue/drivers/redis/redis_driver.js';
import { warnOfUnknownQueues } from '../../../core/queue/unknown_queue_warning.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { freePort } from '../../support/net.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';

const PREFIX = `topiq-test-uq-${randomBytes(4).toString('hex')}`;
const driver = new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix: PREFIX });

class EmailJob extends Job<{ value: string }> {
  static override readonly jobName = 'UnknownQueueEmailJob';
  static override readonly queue = 'emails';
  async handle(): Promise<void> {}
}

afterAll(async () => {
  await deleteKeys(driver.redis, PREFIX);
  await driver.close();
});

describe('a worker serving a queue nothing feeds', () => {
  it('warns once at start naming the queues no class names and no job was pushed to, and serves them anyway', async () => {
    const log = capturingLogger('info');
    const registry = new JobRegistry().register(EmailJob);
    const worker = new Worker({
      driver,
      registry,
      queues: ['emails', 'emials', 'default'],
      log: log.logger,
      sleep: 0.05,
    });
    const running = worker.run();
    await until('the warning', () => log.events('worker.unknown_queue').length > 0);
    // a job dispatched to the warned-of queue still runs
    const id = await new Dispatcher(driver, registry).dispatch(EmailJob, { value: 'v' }, { queue: 'emials' });
    await until('the job ran', async () => (await driver.getJob('emials', id))?.status === 'completed');
    worker.stop();
    await running;

    const warnings = log.events('worker.unknown_queue');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 40, queues: ['emials'], jobQueues: ['emails'] });
    expect(warnings[0]?.msg).toMatch(/no job class names queue "emials".*typo in --queue or WORKER_QUEUES/);
  });

  it('says nothing of a queue that no class names but that has had a job pushed to it', async () => {
    const log = capturingLogger('info');
    const registry = new JobRegistry().register(EmailJob);
    await new Dispatcher(driver, registry).dispatch(EmailJob, { value: 'r' }, { queue: 'reports' });

    await warnOfUnknownQueues(driver, registry, ['reports', 'emails', 'default'], log.logger);

    expect(log.events('worker.unknown_queue')).toEqual([]);
  });

  it('says nothing and does not throw when Redis cannot answer', async () => {
    const log = capturingLogger('info');
    const away = new RedisQueueDriver({
      connection: { port: await freePort(), host: '127.0.0.1', retryStrategy: () => 50 },
    });
    try {
      await warnOfUnknownQueues(away, new JobRegistry(), ['emials'], log.logger);
    } finally {
      await away.close();
    }
    expect(log.lines).toEqual([]);
  });
});
