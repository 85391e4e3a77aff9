/**
 * Worker names are the ids heartbeats are stored under: one rule (`assertWorkerName`) refuses
 * a name the heartbeat could not store, wherever a worker is named, and the default name
 * passes it whatever the machine's host name is.
 */
import os from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidWorkerNameError } from '../../../core/errors.js';
import { JobRegistry, MemoryQueueDriver, Worker } from '../../../core/index.js';
import { assertWorkerName, defaultWorkerName } from '../../../core/queue/names.js';

// a spy on the module object, not vi.mock: the suite shares one module graph between files
// (isolate: false), where node:os is loaded long before this file could mock it
afterEach(() => {
  vi.restoreAllMocks();
});

describe('assertWorkerName', () => {
  it.each(['worker-1', 'w', 'host.example.com:4242:9f3a1c', 'a'.repeat(128)])('accepts %j', (name) => {
    expect(() => assertWorkerName(name)).not.toThrow();
  });

  it.each(['', 'w{1}', 'two words', '-worker', 'ü', 'line\nbreak', 'a'.repeat(129), 42])(
    'refuses %j with E_INVALID_WORKER_NAME',
    (name) => {
      expect(() => assertWorkerName(name)).toThrow(InvalidWorkerNameError);
      expect(() => assertWorkerName(name)).toThrow(/use 1-128 characters from A-Z a-z 0-9 _ \. : -/);
    },
  );
});

describe('defaultWorkerName', () => {
  it('is host:pid:random for a plain host name', () => {
    expect(defaultWorkerName('web-01.example.com', 4242)).toMatch(/^web-01\.example\.com:4242:[0-9a-f]{6}$/);
  });

  it.each([
    ['a host name with spaces and braces', 'my host {lab}'],
    ['a host name starting with a dash', '--edge'],
    ['a host name of non-ASCII letters', 'rechner-über'],
    ['a host name of 300 characters', 'h'.repeat(300)],
    ['an empty host name', ''],
    ['a host name of symbols only', '***'],
  ])('is a valid worker name for %s', (_case, name) => {
    const worker = defaultWorkerName(name, 4_194_304);
    expect(() => assertWorkerName(worker)).not.toThrow();
  });
});

describe('Worker names', () => {
  const registry = new JobRegistry();

  it('refuses a name the heartbeat cannot store, in new Worker()', () => {
    const driver = new MemoryQueueDriver();
    expect(() => new Worker({ driver, registry, queues: ['q'], name: 'w{1}' })).toThrow(
      InvalidWorkerNameError,
    );
  });

  it('gives a worker without a name a valid default on a machine with an odd host name', () => {
    vi.spyOn(os, 'hostname').mockReturnValue('lab host {7} '.repeat(20));
    const worker = new Worker({ driver: new MemoryQueueDriver(), registry, queues: ['q'] });
    expect(worker.name).toMatch(new RegExp(`^lab-host-7-lab-host.*:${process.pid}:[0-9a-f]{6}$`));
    expect(() => assertWorkerName(worker.name)).not.toThrow();
  });
});
