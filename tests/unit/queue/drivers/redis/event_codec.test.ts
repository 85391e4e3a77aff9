import { describe, expect, it } from 'vitest';
import type { JobEvent } from '../../../../../core/queue/driver.js';
import { decodeEvents, encodeEvents } from '../../../../../core/queue/drivers/redis/event_codec.js';

const at = 1_760_000_000_000;

describe('job event wire format', () => {
  it('round-trips every kind of event, extra fields included', () => {
    const events: JobEvent[] = [
      { id: 'j1', name: 'SendEmailJob', queue: 'emails', status: 'queued', attempt: 0, at },
      { id: 'j1', name: 'SendEmailJob', queue: 'emails', status: 'running', attempt: 1, at, worker: 'h:1:a' },
      {
        id: 'j1',
        name: 'SendEmailJob',
        queue: 'emails',
        status: 'completed',
        attempt: 1,
        at,
        worker: 'h:1:a',
        result: { sent: true },
        durationMs: 1.25,
      },
      {
        id: 'j2',
        name: 'ProcessSensorDataJob',
        queue: 'telemetry',
        status: 'delayed',
        attempt: 2,
        at,
        runAt: at + 5000,
        error: { message: 'boom', code: 'E_X' },
        durationMs: 3,
      },
      { id: 'j3', name: 'SendEmailJob', queue: 'emails', status: 'completed', attempt: 1, at, result: null },
    ];
    expect(decodeEvents(encodeEvents(events))).toEqual(events);
  });

  it('sends repeated names, queues and workers once per message', () => {
    const events: JobEvent[] = Array.from({ length: 100 }, (_, i) => ({
      id: `job-${i}`,
      name: 'ProcessSensorDataJob',
      queue: 'telemetry',
      status: 'running',
      attempt: 1,
      at,
      worker: 'host-1:4242:abcdef',
    }));
    const message = encodeEvents(events);
    expect(message.split('ProcessSensorDataJob')).toHaveLength(2);
    expect(message.length).toBeLessThan(JSON.stringify(events).length / 3);
  });

  it("puts a job's changes in one row and keeps each job's order", () => {
    const run = (id: string, offset: number): JobEvent => ({
      id,
      name: 'ProcessSensorDataJob',
      queue: 'telemetry',
      status: 'running',
      attempt: 1,
      at: at + offset,
      worker: 'host-1:4242:abcdef',
    });
    const done = (id: string, offset: number): JobEvent => ({
      ...run(id, offset),
      status: 'completed',
      result: null,
      durationMs: 0.5,
    });
    const events = [run('a', 0), run('b', 1), done('a', 2), done('b', 3), { ...run('a', 4), attempt: 2 }];
    const message = encodeEvents(events);
    expect((JSON.parse(message) as { e: unknown[] }).e).toHaveLength(3);
    const decoded = decodeEvents(message);
    expect(decoded).toHaveLength(5);
    expect(decoded).toEqual(expect.arrayContaining(events));
    for (const id of ['a', 'b']) {
      const own = (list: JobEvent[]) => list.filter((event) => event.id === id);
      expect(own(decoded)).toEqual(own(events));
    }
  });

  it('yields no events for a message that is not in this format, instead of throwing', () => {
    expect(decodeEvents('not json')).toEqual([]);
    expect(decodeEvents('[{"id":"x"}]')).toEqual([]);
    expect(decodeEvents('{"v":1,"s":[],"e":[]}')).toEqual([]);
    expect(decodeEvents('{"v":2,"t":0,"s":[],"e":[["x",0,0,1,-1,99,0,-1,0],"junk"]}')).toEqual([]);
  });
});
