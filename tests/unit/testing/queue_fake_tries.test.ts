/**
 * What QueueFake tells a job about its tries matches what a worker tells it: a job that sets
 * no `maxTries` is on try 1 of the worker's default (3), not on its last try, unless the fake
 * is given other `tries`, as `queue:work --tries` gives a worker.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  Dispatcher,
  InvalidOptionError,
  Job,
  type JobContext,
  JobRegistry,
  MemoryQueueDriver,
  QueueFake,
  Worker,
} from '../../../core/index.js';

/** What a job sees of its tries (a type, not an interface, so that it is a JSON result). */
type TriesSeen = { attempt: number; maxTries: number; lastTry: boolean };

/** Sets no maxTries of its own, so the runner's default decides. */
class LastTryJob extends Job<null, TriesSeen> {
  static override readonly jobName = 'tries.LastTryJob';
  static override readonly queue = 'tries';
  static readonly seen: TriesSeen[] = [];
  async handle(_payload: null, { attempt, maxTries }: JobContext): Promise<TriesSeen> {
    const seen = { attempt, maxTries, lastTry: attempt === maxTries };
    LastTryJob.seen.push(seen);
    return seen;
  }
}

let fake: QueueFake | undefined;

afterEach(() => {
  fake?.restore();
  fake = undefined;
  LastTryJob.seen.length = 0;
});

describe('QueueFake tries', () => {
  it('tells a job without maxTries it is on try 1 of 3, as a worker with default tries does', async () => {
    const driver = new MemoryQueueDriver();
    const registry = new JobRegistry().register(LastTryJob);
    await new Dispatcher(driver, registry).dispatch(LastTryJob, null);
    await new Worker({ driver, registry, queues: ['tries'], stopWhenEmpty: true }).run();
    const onWorker = LastTryJob.seen[0];
    expect(onWorker).toEqual({ attempt: 1, maxTries: 3, lastTry: false });

    fake = QueueFake.install({ jobs: [LastTryJob] });
    await LastTryJob.dispatch(null);
    const outcome = await fake.runNext();
    expect(outcome).toMatchObject({ status: 'completed', result: onWorker });
  });

  it('tells it the tries it was given instead, and a job with its own maxTries keeps that', async () => {
    fake = QueueFake.install({ jobs: [LastTryJob], tries: 5 });
    await LastTryJob.dispatch(null);
    expect(await fake.runNext()).toMatchObject({ result: { attempt: 1, maxTries: 5, lastTry: false } });
    // how docs/testing.md has a job's last try tested
    await LastTryJob.dispatch(null, { maxTries: 1 });
    expect(await fake.runNext()).toMatchObject({ result: { attempt: 1, maxTries: 1, lastTry: true } });
  });

  it('refuses tries that are not a whole number >= 1, as a worker does', () => {
    for (const tries of [0, -1, 1.5, Number.NaN]) {
      expect(() => new QueueFake({ tries })).toThrow(InvalidOptionError);
    }
  });
});
