/** What `serve --workers` asks of its in-process workers: flags first, then WORKER_* settings. */
import { describe, expect, it } from 'vitest';
import { inProcessWorkers } from '../../../bootstrap/commands/serve_command.js';

const settings = { queues: undefined, concurrency: 10, prefetch: undefined };
const jobQueues = ['telemetry', 'default'];

describe('serve --workers', () => {
  it('serves the queues of the app’s jobs at WORKER_CONCURRENCY and lets the worker choose its prefetch', () => {
    const workers = inProcessWorkers({ workers: true }, settings, jobQueues);
    expect(workers).toEqual({ queues: 'telemetry,default', concurrency: 10 });
    expect('prefetch' in workers).toBe(false);
  });

  it('takes WORKER_QUEUES and WORKER_PREFETCH, and the flags over both', () => {
    const set = { queues: ['alerts'], concurrency: 4, prefetch: 0 };
    expect(inProcessWorkers({ workers: true }, set, jobQueues)).toEqual({
      queues: 'alerts',
      concurrency: 4,
      prefetch: 0,
    });
    expect(
      inProcessWorkers(
        { workers: true, queue: ['high', 'low'], concurrency: 2, prefetch: 3 },
        set,
        jobQueues,
      ),
    ).toEqual({ queues: 'high,low', concurrency: 2, prefetch: 3 });
    // --prefetch=auto gives the choice back to the worker over WORKER_PREFETCH
    const auto = inProcessWorkers({ workers: true, prefetch: 'auto' }, set, jobQueues);
    expect(auto).toEqual({ queues: 'alerts', concurrency: 4 });
  });
});
