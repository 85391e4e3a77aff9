import { describe, expect, it } from 'vitest';
import { isProgressEvent, type JobEvent } from '../../../../../core/queue/driver.js';
import { decodeEvents, encodeEvents } from '../../../../../core/queue/drivers/redis/event_codec.js';
import { EventBatch, type EventJob } from '../../../../../core/queue/event_batch.js';

const at = 1_760_000_000_000;
/** The changes of status a message decodes to (these tests send no progress reports). */
const statusEvents = (message: string): JobEvent[] =>
  decodeEvents(message).filter((event): event is JobEvent => !isProgressEvent(event));
const worker = 'host-1:4242:abcdef';
const sensorJob = (id: string, attempt = 1): EventJob => ({
  id,
  name: 'ProcessSensorDataJob',
  queue: 'telemetry',
  attempt,
});

describe('job event wire format', () => {
  it('carries progress reports among the changes of status, in order, and skips malformed ones', () => {
    const batch = new EventBatch();
    const job = sensorJob('p1', 2);
    const report = {
      kind: 'progress' as const,
      ...job,
      worker,
      at: at + 2,
      progress: 37.5,
      progressData: { rows: 3, lastRow: 'r-3' },
    };
    batch.started(job, worker, at + 1);
    batch.progress({ ...report, progressMessage: 'file 3 of 8' });
    batch.progress({ ...report, at: at + 3, progress: 100, progressMessage: null, progressData: null });
    batch.completed([{ job, value: null, durationMs: 4 }], worker, at + 4);
    const message = encodeEvents(batch);
    const decoded = decodeEvents(message);
    expect(decoded).toEqual(batch.toStreamEvents());
    expect(decoded.map((event) => (isProgressEvent(event) ? `${event.progress}%` : event.status))).toEqual([
      'running',
      '37.5%',
      '100%',
      'completed',
    ]);
    expect(decoded[1]).toEqual({ ...report, progressMessage: 'file 3 of 8' });
    expect(batch.toEvents().map((event) => event.status)).toEqual(['running', 'completed']);

    const crafted = JSON.parse(message) as { g: unknown[][] };
    crafted.g = [
      [4, 'a', 0, 1, 1, 0, 2, '50', null], // progress is not a number
      [4, 'b', 0, 1, 1, 0, 2, 50, 7], // message is neither a string nor null
      [4, 'c', 0, 1, 1, 99, 2, 50, null], // unknown worker
      [4, 'd', 0, 1, 1, 0, 2, 50], // too short
      [4, 'ok', 0, 1, 1, 0, 2, 50, 'half'], // no data cell, as sent before reports carried data
      [4, 'data', 0, 1, 1, 0, 2, 60, null, { rows: 12 }],
    ];
    expect(decodeEvents(JSON.stringify(crafted))).toEqual([
      {
        kind: 'progress',
        id: 'ok',
        name: expect.any(String),
        queue: expect.any(String),
        attempt: 1,
        worker: expect.any(String),
        at: expect.any(Number),
        progress: 50,
        progressMessage: 'half',
        progressData: null,
      },
      expect.objectContaining({
        id: 'data',
        progress: 60,
        progressMessage: null,
        progressData: { rows: 12 },
      }),
    ]);
  });

  it('round-trips every kind of change, extra fields included, in the order raised', () => {
    const batch = new EventBatch();
    const j1 = { id: 'j1', name: 'SendEmailJob', queue: 'emails', attempt: 1 };
    batch.queued([{ id: 'j1', name: 'SendEmailJob', queue: 'emails' }], at);
    batch.started(j1, worker, at + 1);
    batch.completed([{ job: j1, value: { sent: true }, durationMs: 1.25 }], worker, at + 3);
    batch.event({
      id: 'j2',
      name: 'ProcessSensorDataJob',
      queue: 'telemetry',
      status: 'delayed',
      attempt: 2,
      at: at + 4,
      runAt: at + 5000,
      error: { message: 'boom', code: 'E_X' },
      durationMs: 3,
    });
    // completed here, started in an earlier message: sent in full
    batch.completed([{ job: sensorJob('j3'), value: null, durationMs: 0.5 }], 'host-2:1:ffffff', at + 5);
    batch.event({
      id: 'j4',
      name: 'SendEmailJob',
      queue: 'emails',
      status: 'completed',
      attempt: 1,
      at,
      result: null,
    });

    const decoded = statusEvents(encodeEvents(batch));

    expect(decoded).toEqual(batch.toEvents());
    expect(decoded.map((event) => `${event.id}:${event.status}`)).toEqual([
      'j1:queued',
      'j1:running',
      'j1:completed',
      'j2:delayed',
      'j3:completed',
      'j4:completed',
    ]);
    expect(decoded[2]).toEqual({
      id: 'j1',
      name: 'SendEmailJob',
      queue: 'emails',
      status: 'completed',
      attempt: 1,
      at: at + 3,
      worker,
      result: { sent: true },
      durationMs: 1.25,
    });
    expect(decoded[3]).toMatchObject({
      runAt: at + 5000,
      error: { message: 'boom', code: 'E_X' },
      durationMs: 3,
    });
    expect(decoded[4]).toMatchObject({ worker: 'host-2:1:ffffff', result: null, durationMs: 0.5 });
    expect(decoded[5]).toMatchObject({ result: null });
  });

  it('sends repeated names, queues and workers once per message, and a job started in it once', () => {
    const batch = new EventBatch();
    const jobs = Array.from({ length: 100 }, (_, i) => sensorJob(`job-${i}`));
    for (const job of jobs) batch.started(job, worker, at);
    batch.completed(
      jobs.map((job) => ({ job, value: null, durationMs: 0.5 })),
      worker,
      at + 1,
    );
    const message = encodeEvents(batch);
    expect(message.split('ProcessSensorDataJob')).toHaveLength(2);
    expect(message.split(worker)).toHaveLength(2);
    expect(message.split('"job-7"')).toHaveLength(2);
    const plain = JSON.stringify(batch.toEvents());
    expect(message.length).toBeLessThan(plain.length / 5);
    expect(decodeEvents(message)).toEqual(batch.toEvents());
  });

  it('sends the jobs one dispatch queued as one group of ids', () => {
    const batch = new EventBatch();
    const jobs = Array.from({ length: 50 }, (_, i) => ({
      id: `q-${i}`,
      name: 'SendEmailJob',
      queue: 'emails',
    }));
    batch.queued(jobs, at + 2);
    const message = encodeEvents(batch);
    expect((JSON.parse(message) as { g: unknown[] }).g).toHaveLength(1);
    expect(message.split('SendEmailJob')).toHaveLength(2);
    const decoded = statusEvents(message);
    expect(decoded).toEqual(batch.toEvents());
    expect(decoded[49]).toEqual({
      id: 'q-49',
      name: 'SendEmailJob',
      queue: 'emails',
      status: 'queued',
      attempt: 0,
      at: at + 2,
    });
  });

  it('keeps the jobs one worker started in a row in one group', () => {
    const batch = new EventBatch();
    batch.started(sensorJob('a'), worker, at);
    batch.started(sensorJob('b'), worker, at + 1);
    batch.started(sensorJob('c'), 'other-worker', at + 2);
    batch.started(sensorJob('d'), 'other-worker', at + 2);
    const groups = (JSON.parse(encodeEvents(batch)) as { g: unknown[] }).g;
    expect(groups).toHaveLength(2);
    expect(decodeEvents(encodeEvents(batch)).map((event) => `${event.id}@${event.worker}`)).toEqual([
      `a@${worker}`,
      `b@${worker}`,
      'c@other-worker',
      'd@other-worker',
    ]);
  });

  it('names a job by number only when it is the very job object started in the message', () => {
    const batch = new EventBatch();
    const first = sensorJob('same-id', 1);
    batch.started(first, worker, at);
    // the same id on a new attempt (another object) is sent in full, with its own attempt
    batch.completed([{ job: sensorJob('same-id', 2), value: 7, durationMs: 1 }], worker, at + 1);
    batch.completed([{ job: first, value: 8, durationMs: 2 }], worker, at + 2);
    const decoded = statusEvents(encodeEvents(batch));
    expect(decoded.map((event) => [event.status, event.attempt, event.result ?? '-'])).toEqual([
      ['running', 1, '-'],
      ['completed', 2, 7],
      ['completed', 1, 8],
    ]);
  });

  it('numbers every started entry, so a job object started twice does not shift the others', () => {
    const batch = new EventBatch();
    const [a, b, c] = ['a', 'b', 'c'].map((id) => sensorJob(id));
    batch.started(a!, worker, at);
    batch.started(b!, worker, at);
    batch.completed([{ job: a!, value: 1, durationMs: 1 }], worker, at + 1);
    batch.started(a!, worker, at + 2);
    batch.started(c!, worker, at + 2);
    batch.completed(
      [
        { job: c!, value: 3, durationMs: 1 },
        { job: a!, value: 2, durationMs: 1 },
      ],
      worker,
      at + 3,
    );
    const decoded = statusEvents(encodeEvents(batch));
    expect(decoded).toEqual(batch.toEvents());
    expect(decoded.map((event) => `${event.id}:${event.status}:${event.result ?? '-'}`)).toEqual([
      'a:running:-',
      'b:running:-',
      'a:completed:1',
      'a:running:-',
      'c:running:-',
      'c:completed:3',
      'a:completed:2',
    ]);
  });

  it('lets a crafted extra set only runAt, result and error, never the id or the status', () => {
    const message = JSON.stringify({
      v: 3,
      t: at,
      s: ['NoopJob', 'q'],
      g: [
        [
          2,
          'real',
          0,
          1,
          1,
          -1,
          4,
          0,
          -1,
          { id: 'forged', status: 'bogus', runAt: 5, error: { message: 'x' } },
        ],
      ],
    });
    expect(decodeEvents(message)).toEqual([
      {
        id: 'real',
        name: 'NoopJob',
        queue: 'q',
        attempt: 1,
        status: 'completed',
        at,
        runAt: 5,
        error: { message: 'x' },
        result: null,
      },
    ]);
  });

  it('yields no events for a message that is not in this format, instead of throwing', () => {
    expect(decodeEvents('not json')).toEqual([]);
    expect(decodeEvents('[{"id":"x"}]')).toEqual([]);
    expect(decodeEvents('{"v":2,"t":0,"s":[],"e":[["x",0,0,1,-1,99,0,-1,0]]}')).toEqual([]);
  });

  it('skips malformed groups and jobs but keeps the well-formed ones around them', () => {
    const message = JSON.stringify({
      v: 3,
      t: at,
      s: ['NoopJob', 'q', 'w'],
      g: [
        'junk',
        [0, 2, 'ok', 0, 1, 1, 0, 42, 0, 1, 1, 0], // second job: id is not a string
        [1, 9, 0, 0, 5, null], // unknown worker
        [0, 9, 'lost', 0, 1, 1, 0], // unknown worker: no event, but the entry keeps number 2
        [1, 2, 1, 0, 5, null, 7, 5, null, 2, 5, null], // job 7 was never started; job 2 is unreadable
        [2, 'x', 0, 1, 1, -1, 99, 0, -1, 0], // unknown status
        [2, 'x', 0, 1, 1, -1, 'length', 0, -1, 0], // a status that names a property of the array
        [2, 'x', 0, 1, 1, -1, '__proto__', 0, -1, 0],
        [2, 'x', 0, 1, 1, -1, '4', 0, -1, 0], // a number written as text
        [2, 'err', 0, 1, 1, -1, 5, 0, -1, { error: ['not', 'an', 'error'] }], // error without a message
        [0, 2, 'ok2', 0, 1], // too short for a job
        [3, 0, 'q1', 0, 1, 7, 0, 1], // a queued job, then one whose id is not a string
      ],
    });
    const decoded: JobEvent[] = statusEvents(message);
    expect(decoded.map((event) => `${event.id}:${event.status}`)).toEqual([
      'ok:running',
      'ok:completed',
      'err:failed',
      'q1:queued',
    ]);
    expect(decoded.find((event) => event.id === 'err')).not.toHaveProperty('error');
  });
});
