import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, Dispatcher, JobRegistry, MemoryQueueDriver, Worker } from '../../../core/index.js';
import { sleep } from '../../support/queue_names.js';
import { DoomedJob, EchoJob, testJobs } from '../../support/test_jobs.js';

describe('Worker logs', () => {
  it('writes one structured line per job start, finish and failure with id, queue, attempt and duration', async () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const driver = new MemoryQueueDriver();
    const registry = new JobRegistry().register(...testJobs);
    const dispatcher = new Dispatcher(driver, registry);
    const ok = await dispatcher.dispatch(EchoJob, { tag: 'logs', value: 'v' }, { queue: 'logs' });
    const bad = await dispatcher.dispatch(DoomedJob, { tag: 'logs' }, { queue: 'logs' });
    const log = createLogger({ level: 'info', destination });
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
