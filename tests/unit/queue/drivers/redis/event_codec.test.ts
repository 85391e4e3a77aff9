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
    expect(message.length).toBeLessThan(JSON.stringify(events).length / 2);
  });

  it('yields no events for a message that is not in this format, instead of throwing', () => {
    expect(decodeEvents('not json')).toEqual([]);
    expect(decodeEvents('[{"id":"x"}]')).toEqual([]);
    expect(decodeEvents('{"v":2,"s":[],"e":[]}')).toEqual([]);
  });
});
