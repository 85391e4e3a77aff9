/**
 * Job events of jobs with large results, on Redis: a message is cut by the size of the results it
 * holds as well as by count, so none passes the output buffer Redis allows a subscriber (32 MB by
 * default, past which it closes the listener's connection and the events are lost): a result
 * over MAX_EVENT_RESULT_BYTES goes without its event, which says so.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  Job,
  type JobEvent,
  JobEventPublisher,
  JobRegistry,
  MAX_EVENT_RESULT_BYTES,
  RedisQueueDriver,
  Worker,
} from '../../../core/index.js';
import { deleteKeys } from '../../support/redis_keys.js';
import { until } from '../../support/until.js';

/** Returns a string of `chars` characters, as a job returning a report or an image would. */
class LargeResultJob extends Job<{ chars: number }, string> {
  static override readonly jobName = 'LargeResultJob';
  async handle({ chars }: { chars: number }) {
    return 'r'.repeat(chars);
  }
}

const prefix = `topiq-test-evsize-${randomBytes(3).toString('hex')}`;
const connect = () => new RedisQueueDriver({ connection: 'redis://127.0.0.1:6379', prefix });
const workerDriver = connect();
const listenerDriver = connect();

afterAll(async () => {
  await deleteKeys(workerDriver.redis, prefix);
  await workerDriver.close();
  await listenerDriver.close();
});

/** Runs `count` jobs returning `chars` characters each, all at once, and gives the completed events heard. */
async function completedEventsOf(queue: string, count: number, chars: number): Promise<JobEvent[]> {
  const heard: JobEvent[] = [];
  const unsubscribe = await listenerDriver.subscribeEvents((event) => {
    if (event.queue === queue && event.status === 'completed') heard.push(event);
  });
  const registry = new JobRegistry().register(LargeResultJob);
  await new Dispatcher(workerDriver, registry).dispatchMany(
    Array.from({ length: count }, () => ({ job: LargeResultJob, payload: { chars }, options: { queue } })),
  );
  // one reserve takes them all, and they complete in one acknowledgement batch
  const worker = new Worker({
    driver: workerDriver,
    registry,
    queues: [queue],
    concurrency: count,
    stopWhenEmpty: true,
    events: new JobEventPublisher(workerDriver),
  });
  await worker.run();
  await until(
    'every completed event',
    () => heard.length === count,
    5000,
    () => `${heard.length} of ${count}`,
  );
  await unsubscribe();
  return heard;
}

describe('job events of jobs with large results', () => {
  it('reach a listener, without the results over the cap, though a batch of them passes what Redis lets a subscriber hold', async () => {
    // 80 results of 600 KB: about 48 MB in one acknowledgement batch
    const chars = 600 * 1024;
    const heard = await completedEventsOf('sizes-omitted', 80, chars);
    for (const event of heard) expect(event).toMatchObject({ result: null, resultOmitted: true });
    const record = await workerDriver.getJob('sizes-omitted', heard[0]!.id);
    expect(String(record?.result).length).toBe(chars);
  });

  it('carry results up to the cap whole, in messages cut by their size', async () => {
    const chars = MAX_EVENT_RESULT_BYTES - 2; // with its quotes, just at the cap
    const heard = await completedEventsOf('sizes-kept', 200, chars);
    expect(heard.every((event) => typeof event.result === 'string' && event.result.length === chars)).toBe(
      true,
    );
    expect(heard.some((event) => event.resultOmitted)).toBe(false);
  });
});
