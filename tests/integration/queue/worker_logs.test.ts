import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, Dispatcher, JobRegistry, MemoryQueueDriver, Worker } from '../../../core/index.js';
import { sleep } from '../../support/queue_names.js';
import { DoomedJob, EchoJob, FlakyJob, testJobs } from '../../support/test_jobs.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger({ level: 'info', destination }) };
}

describe('Worker logs', () => {
  it("logs a retry that waits with its record's runAt, and one that does not without", async () => {
    const { lines, log } = capture();
    const driver = new MemoryQueueDriver();
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const later = await dispatcher.dispatch(FlakyJob, { tag: 'logs', failures: 1 }, { queue: 'logs-later' });
    const now = await dispatcher.dispatch(FlakyJob, { tag: 'logs', failures: 1 }, { queue: 'logs-now' });
    const workers = [
      new Worker({ driver, registry, queues: ['logs-later'], stopWhenEmpty: true, log, backoff: 60 }),
      new Worker({ driver, registry, queues: ['logs-now'], stopWhenEmpty: true, log, backoff: 0 }),
    ];
    await Promise.all(workers.map((worker) => worker.run()));
    const retrying = (id: string) => lines.find((line) => line.jobId === id && line.event === 'job.retrying');
    expect(retrying(later)).toMatchObject({
      retryInMs: 60_000,
      runAt: (await driver.getJob('logs-later', later))?.runAt,
    });
    expect(retrying(now)).toMatchObject({ retryInMs: 0 });
    expect(retrying(now)).not.toHaveProperty('runAt');
    await driver.close();
  });

  it('writes one structured line per job start, finish and failure with id, queue, attempt and duration', async () => {
    const { lines, log } = capture();
    const driver = new MemoryQueueDriver();
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const ok = await dispatcher.dispatch(EchoJob, { tag: 'logs', value: 'v' }, { queue: 'logs' });
    const bad = await dispatcher.dispatch(DoomedJob, { tag: 'logs' }, { queue: 'logs' });
    const worker = new Worker({ driver, registry, queues: ['logs'], stopWhenEmpty: true, log });
    await worker.run();
    await sleep(20);
    const about = (id: string) => lines.filter((line) => line.jobId === id).map((line) => line.event);
    expect(about(ok)).toEqual(['job.started', 'job.completed']);
    expect(about(bad)).toEqual(['job.started', 'job.failed']);
    const completed = lines.find((line) => line.jobId === ok && line.event === 'job.completed');
    expect(completed).toMatchObject({ job: 'EchoJob', queue: 'logs', attempt: 1, worker: worker.name });
    expect(typeof completed?.durationMs).toBe('number');
    const failed = lines.find((line) => line.jobId === bad && line.event === 'job.failed');
    expect(failed).toMatchObject({ code: 'E_UNRECOVERABLE', attempt: 1 });
    await driver.close();
  });
});
