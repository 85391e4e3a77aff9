/** The queue settings read from the environment: the lease bounds shared with the CLI and Worker. */
import { describe, expect, it } from 'vitest';
import { KeyBuilder } from '../../../core/queue/drivers/redis/keys.js';
import queueConfig from '../../../config/queue.js';
import { assertDurableDriver } from '../../../core/config/durable_driver.js';
import appConfig from '../../../config/app.js';
import { Application, MAX_LEASE_MS, MIN_LEASE_MS } from '../../../core/index.js';

describe('QUEUE_LEASE_MS', () => {
  it('defaults to 30 s and takes the bounds themselves', () => {
    expect(queueConfig.read({}).leaseMs).toBe(30_000);
    expect(queueConfig.read({ QUEUE_LEASE_MS: String(MIN_LEASE_MS) }).leaseMs).toBe(MIN_LEASE_MS);
    expect(queueConfig.read({ QUEUE_LEASE_MS: String(MAX_LEASE_MS) }).leaseMs).toBe(MAX_LEASE_MS);
  });

  it.each([String(MIN_LEASE_MS - 1), String(MAX_LEASE_MS + 1), '1500.5', 'long'])(
    'refuses %j with E_INVALID_CONFIG naming it',
    (value) => {
      expect(() => queueConfig.read({ QUEUE_LEASE_MS: value })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/QUEUE_LEASE_MS/),
        }),
      );
    },
  );
});

describe('REDIS_URL', () => {
  it('takes a redis:// or rediss:// URL, with a port and a database or not', () => {
    for (const url of [
      'redis://127.0.0.1',
      'redis://:secret@redis.internal:6380/2',
      'rediss://cache.example.com:6379/',
      // ioredis reads ?db= as well
      'redis://127.0.0.1:6379?db=2',
      'redis://127.0.0.1:6379/2?db=2',
    ]) {
      expect(queueConfig.read({ REDIS_URL: url }).redisUrl).toBe(url);
    }
  });

  it.each([
    ['redis://127.0.0.1:99999', /not a valid URL/],
    ['redis://127.0.0.1:notaport', /not a valid URL/],
    ['redis://127.0.0.1:6379/abc', /database "abc"/],
    ['redis://127.0.0.1:0', /port 0/],
    ['http://127.0.0.1:6379', /must start with redis:\/\//],
    // past any server's databases: Redis answers its SELECT so that ioredis went on in database 0
    ['redis://127.0.0.1:6379/2147483648', /database 2147483648, past any Redis server's/],
    ['redis://127.0.0.1:6379/99999999999999999999', /past any Redis server's/],
    ['redis://127.0.0.1:6379?db=two', /names database "two" in \?db=/],
    ['redis://127.0.0.1:6379?db=2147483648', /database 2147483648, past any Redis server's/],
    ['redis://127.0.0.1:6379/1?db=2', /names two databases, \/1 and \?db=2/],
    // an unencoded # in the password: the rest is the fragment, and "ss" the host
    ['redis://:p@ss#w0rd@127.0.0.1:6379', /holds a #.*%23/],
    ['redis://127.0.0.1:6379/2#x', /holds a #/],
  ])('refuses %j with E_INVALID_CONFIG saying why', (url, reason) => {
    expect(() => queueConfig.read({ REDIS_URL: url })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringMatching(reason) }),
    );
  });
});

describe('numbers and durations read from the environment', () => {
  it('refuses a timer longer than Node holds, which would fire every millisecond', () => {
    expect(() => queueConfig.read({ QUEUE_HEARTBEAT_MS: '3000000000' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/QUEUE_HEARTBEAT_MS/),
      }),
    );
    expect(queueConfig.read({ QUEUE_HEARTBEAT_MS: '60000' }).heartbeatMs).toBe(60_000);
  });

  it.each(['0x10', '1e3', '-5', '12abc', 'Infinity'])(
    'refuses %j, a number not written as plain decimal digits',
    (value) => {
      expect(() => queueConfig.read({ QUEUE_SHUTDOWN_GRACE_MS: value })).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/decimal digits/),
        }),
      );
    },
  );

  it('takes an empty value as unset, refuses a blank number, and takes a fraction of hours', () => {
    expect(queueConfig.read({ QUEUE_SHUTDOWN_GRACE_MS: '' }).shutdownGraceMs).toBe(10_000);
    expect(() => queueConfig.read({ QUEUE_SHUTDOWN_GRACE_MS: '  ' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/QUEUE_SHUTDOWN_GRACE_MS/),
      }),
    );
    expect(queueConfig.read({ QUEUE_KEEP_COMPLETED_HOURS: '1.5' }).retention.completedAgeMs).toBe(5_400_000);
  });
});

describe('WORKER_QUEUES', () => {
  it('reads a comma-separated list of queue names, in order, without repeats', () => {
    expect(queueConfig.read({ WORKER_QUEUES: 'high, default,high' }).worker.queues).toEqual([
      'high',
      'default',
    ]);
    expect(queueConfig.read({}).worker.queues).toBeUndefined();
  });

  it('refuses a bad queue name with E_INVALID_CONFIG naming WORKER_QUEUES', () => {
    expect(() => queueConfig.read({ WORKER_QUEUES: 'a b,,c' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/WORKER_QUEUES: .*"a b"/),
      }),
    );
  });
});

describe('WORKER_PREFETCH', () => {
  it('leaves the choice to the worker unless set, and takes auto or 0 to 10000', () => {
    expect(queueConfig.read({}).worker.prefetch).toBeUndefined();
    expect(queueConfig.read({ WORKER_PREFETCH: 'auto' }).worker.prefetch).toBeUndefined();
    expect(queueConfig.read({ WORKER_PREFETCH: '0' }).worker.prefetch).toBe(0);
    expect(queueConfig.read({ WORKER_PREFETCH: ' 10000 ' }).worker.prefetch).toBe(10_000);
  });

  it.each(['-1', '1.5', '10001', 'none'])('refuses %j with E_INVALID_CONFIG naming it', (value) => {
    expect(() => queueConfig.read({ WORKER_PREFETCH: value })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/WORKER_PREFETCH.*auto .* whole number from 0 to 10000/),
      }),
    );
  });
});

describe('the driver under NODE_ENV=production', () => {
  it('marks the in-memory driver chosen without REDIS_URL, which serve and job:dispatch refuse', () => {
    const settings = queueConfig.read({ NODE_ENV: 'production' });

    expect(settings).toMatchObject({ driver: 'memory', memoryInProduction: true });
    expect(() => assertDurableDriver(settings)).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/^NODE_ENV=production and no REDIS_URL.*QUEUE_DRIVER=memory/),
      }),
    );
  });

  it('takes REDIS_URL, QUEUE_DRIVER=redis, or the in-memory driver asked for by name', () => {
    for (const env of [
      { NODE_ENV: 'production', REDIS_URL: 'redis://10.0.0.5:6379' },
      { NODE_ENV: 'production', QUEUE_DRIVER: 'redis' },
      { NODE_ENV: 'production', QUEUE_DRIVER: 'memory' },
      {},
    ]) {
      const settings = queueConfig.read(env);
      expect(settings.memoryInProduction).toBe(false);
      expect(() => assertDurableDriver(settings)).not.toThrow();
    }
  });
});

describe('an application built in code under NODE_ENV=production without REDIS_URL', () => {
  it('refuses to create a worker on the in-memory driver it fell back to', async () => {
    const app = new Application({
      app: appConfig.read({ LOG_LEVEL: 'silent' }),
      queue: queueConfig.read({ NODE_ENV: 'production' }),
      jobs: [],
    });
    try {
      expect(() => app.createWorker({ queues: ['default'] })).toThrow(
        expect.objectContaining({ code: 'E_INVALID_CONFIG' }),
      );
    } finally {
      await app.close();
    }
  });
});

describe('QUEUE_PREFIX', () => {
  it('refuses a ":db<N>" level, which names the Pub/Sub channels of database N (prefix topiq there)', () => {
    for (const prefix of ['topiq:db2', 'topiq:db0', 'a:db12:b']) {
      expect(() => queueConfig.read({ QUEUE_PREFIX: prefix }), prefix).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/QUEUE_PREFIX: may not hold a ":db<N>" level/),
        }),
      );
      expect(() => new KeyBuilder(prefix), prefix).toThrow(/no ":db<N>" level/);
    }
    for (const prefix of ['topiq', 'db2', 'topiq:dbx', 'topiq:db2x', 'topiq-db2']) {
      expect(queueConfig.read({ QUEUE_PREFIX: prefix }).prefix, prefix).toBe(prefix);
    }
  });
});

describe('WORKER_CONCURRENCY', () => {
  it('takes up to MAX_CONCURRENCY jobs at once, as Worker and --concurrency do', () => {
    expect(queueConfig.read({ WORKER_CONCURRENCY: '10000' }).worker.concurrency).toBe(10_000);
    expect(() => queueConfig.read({ WORKER_CONCURRENCY: '1000000000000' })).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_CONFIG',
        message: expect.stringMatching(/WORKER_CONCURRENCY/),
      }),
    );
  });
});

describe('QUEUE_EVENTS and the other on/off variables', () => {
  it.each([
    ['on', true],
    ['true', true],
    ['1', true],
    ['off', false],
    ['false', false],
    ['0', false],
  ])('reads %j as %s, and is on by default', (value, on) => {
    expect(queueConfig.read({ QUEUE_EVENTS: value }).events).toBe(on);
    expect(queueConfig.read({}).events).toBe(true);
  });

  it('refuses another word with E_INVALID_CONFIG naming the variable', () => {
    expect(() => queueConfig.read({ QUEUE_EVENTS: 'yes' })).toThrow(
      expect.objectContaining({ code: 'E_INVALID_CONFIG', message: expect.stringContaining('QUEUE_EVENTS') }),
    );
  });
});
