/**
 * Job events are encoded and published only while some process listens: listeners announce
 * themselves; after a grace period without an announcement, publishers record and send none.
 * Each driver here has its own prefix (so its own channels) and short timings.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobEvent, JobEventPublisher, RedisQueueDriver } from '../../../core/index.js';
import { sleep } from '../../support/queue_names.js';
import { until } from '../../support/reliability_fixture.js';

// grace far above the heartbeat, so a stalled event loop on a busy machine does not fail a test
const timing = { heartbeatMs: 50, graceMs: 400, startupMs: 100 };
const job = (id: string) => ({ id, name: 'EchoJob', queue: 'q' });

describe('job events while nobody listens', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function driverOn(prefix: string, eventListeners = timing): RedisQueueDriver {
    // named after its prefix, so a test can find its connections in CLIENT LIST
    const driver = new RedisQueueDriver({
      connection: { host: '127.0.0.1', port: 6379, connectionName: prefix },
      prefix,
      eventListeners,
    });
    cleanups.push(() => driver.close());
    return driver;
  }

  /** A plain Redis subscriber on the events channel: it hears every PUBLISH and announces nothing. */
  async function wiretap(channel: string): Promise<string[]> {
    const redis = new Redis('redis://127.0.0.1:6379');
    cleanups.push(async () => {
      redis.disconnect();
    });
    const messages: string[] = [];
    redis.on('message', (_channel: string, message: string) => messages.push(message));
    await redis.subscribe(channel);
    return messages;
  }

  it('stops publishing once no listener is heard, and publishes again as soon as one subscribes', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    const publisherDriver = driverOn(prefix);
    const published = await wiretap(publisherDriver.keys.eventsChannel);
    const events = new JobEventPublisher(publisherDriver, true, { flushIntervalMs: 60_000 });

    // at first a publisher assumes a listener: one subscribed long ago must miss nothing
    expect(publisherDriver.hasEventListeners()).toBe(true);
    events.emit(job('early'), 'queued', 0);
    events.flush();
    await until('the first batch published', () => published.length === 1, 2000);

    // a grace period without an announcement: nothing is recorded or sent
    await until('the publisher to stop', () => !publisherDriver.hasEventListeners(), 2000);
    events.emit(job('unheard'), 'queued', 0);
    events.flush();
    await sleep(50);
    expect(published).toHaveLength(1);

    // a listener in another process (driver) announces itself when it subscribes
    const listenerDriver = driverOn(prefix);
    const seen: JobEvent[] = [];
    const unsubscribe = await listenerDriver.subscribeEvents((event) => seen.push(event));
    await until('the publisher to hear the listener', () => publisherDriver.hasEventListeners(), 500);
    events.emit(job('heard'), 'queued', 0);
    events.flush();
    await until('the listener to hear the event', () => seen.length === 1, 2000);
    expect(seen.map((event) => event.id)).toEqual(['heard']);

    // its heartbeats keep the publisher publishing past the grace period
    await sleep(timing.graceMs * 2);
    expect(publisherDriver.hasEventListeners()).toBe(true);

    // and once it unsubscribes, the publisher stops again
    await unsubscribe();
    await until('the publisher to stop again', () => !publisherDriver.hasEventListeners(), 2000);
    expect(published).toHaveLength(2);
  });

  it('records and sends the changes made right after its event loop was blocked past the grace, unread announcements notwithstanding', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    const publisherDriver = driverOn(prefix);
    const listenerDriver = driverOn(prefix);
    const seen: JobEvent[] = [];
    await listenerDriver.subscribeEvents((event) => seen.push(event));
    await until('the publisher to hear the listener', () => publisherDriver.hasEventListeners(), 2000);
    await sleep(timing.startupMs * 2); // past the start-up window: heard by its announcements
    const events = new JobEventPublisher(publisherDriver, true, { flushIntervalMs: 5 });

    // a handler's synchronous work (decompressing firmware, hashing) blocks the loop past the
    // grace; the announcements sent meanwhile are still in the socket when the next job starts
    const blockedUntil = performance.now() + timing.graceMs * 2;
    while (performance.now() < blockedUntil) {
      // busy
    }
    events.emit(job('after-block'), 'running', 1, 'w1');

    await until('the listener to hear it', () => seen.length === 1, 2000);
    expect(seen[0]).toMatchObject({ id: 'after-block', status: 'running' });
  });

  it('asks when it starts, so a listener that subscribed earlier is heard before its next heartbeat', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    // heartbeats far apart: only the answer to the question can tell the publisher
    const slow = { heartbeatMs: 60_000, graceMs: 2000, startupMs: 100 };
    const listenerDriver = driverOn(prefix, slow);
    const seen: JobEvent[] = [];
    await listenerDriver.subscribeEvents((event) => seen.push(event));
    await sleep(50);
    const announcements = await wiretap(`${prefix}:events:listeners`);
    const publisherDriver = driverOn(prefix, slow);
    const events = new JobEventPublisher(publisherDriver, true, { flushIntervalMs: 60_000 });
    expect(publisherDriver.hasEventListeners()).toBe(true);
    // the publisher asks once it hears, and the listener answers
    await until(
      'the publisher to ask and the listener to answer',
      () => announcements.join(',') === 'who,here',
      2000,
    );
    await sleep(300); // well past the start-up window
    expect(publisherDriver.hasEventListeners()).toBe(true);
    events.emit(job('late-worker'), 'queued', 0);
    events.flush();
    await until('the listener to hear the event', () => seen.length === 1, 2000);
  });

  it('asks again when its connection for announcements comes back, since it missed them meanwhile', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    const announcements = await wiretap(`${prefix}:events:listeners`);
    const publisherDriver = driverOn(prefix);
    publisherDriver.hasEventListeners();
    await until('the publisher to ask', () => announcements.includes('who'), 2000);
    const admin = new Redis('redis://127.0.0.1:6379');
    cleanups.push(async () => {
      admin.disconnect();
    });
    // its subscriber connection: the one of its name subscribed to a channel
    const clients = ((await admin.call('CLIENT', 'LIST')) as string).split('\n');
    const subscriber = clients.find((line) => line.includes(` name=${prefix} `) && / sub=1 /.test(line));
    expect(subscriber).toBeDefined();
    await admin.call('CLIENT', 'KILL', 'ID', /(?:^| )id=(\d+)/.exec(subscriber!)![1]!);
    await until(
      'the publisher to ask again',
      () => announcements.filter((message) => message === 'who').length === 2,
      2000,
    );
  });

  it('opens no connection once closed, and counts as listened to (it cannot know)', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    const driver = driverOn(prefix);
    await driver.redis.ping();
    await driver.close();
    expect(driver.hasEventListeners()).toBe(true);
    const stop = await driver.subscribeEvents(() => {}).catch((error: Error) => error);
    expect(stop).toBeInstanceOf(Error);
    await sleep(50);
    const admin = new Redis('redis://127.0.0.1:6379');
    cleanups.push(async () => {
      admin.disconnect();
    });
    expect((await admin.call('CLIENT', 'LIST')) as string).not.toContain(` name=${prefix} `);
  });

  it('counts a listener of its own process at once, without waiting for the announcement', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    const driver = driverOn(prefix);
    await until('the driver to stop', () => !driver.hasEventListeners(), 2000);
    const unsubscribe = await driver.subscribeEvents(() => {});
    expect(driver.hasEventListeners()).toBe(true);
    await unsubscribe();
  });

  it('publishes while its subscription to announcements is refused, and subscribes again once allowed', async () => {
    const prefix = `tq-listen-${randomBytes(3).toString('hex')}`;
    const admin = new Redis('redis://127.0.0.1:6379');
    // a Redis user that may use every command and key, and the channels but the announcements'
    const user = `${prefix}-user`;
    const allowed = [`&${prefix}:events`, `&${prefix}:cancels`];
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', 'resetchannels', ...allowed, '+@all');
    cleanups.push(async () => {
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    });
    const driver = new RedisQueueDriver({
      connection: { host: '127.0.0.1', port: 6379, username: user, password: 'secret' },
      prefix,
      eventListeners: timing,
    });
    cleanups.push(() => driver.close());
    const channel = driver.keys.eventListenersChannel;
    const subscribers = async () => ((await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1];

    expect(driver.hasEventListeners()).toBe(true); // subscribing: it cannot know yet
    await sleep(timing.graceMs + 100);
    // refused, so still unable to know who listens: it publishes rather than lose events
    expect(await subscribers()).toBe(0);
    expect(driver.hasEventListeners()).toBe(true);

    await admin.call('ACL', 'SETUSER', user, `&${channel}`);
    // tried again (no sooner than a second after the refusal) when asked next
    await until(
      'the subscription to announcements',
      async () => {
        driver.hasEventListeners();
        return (await subscribers()) === 1;
      },
      3000,
    );
    await until('it to hear that nobody listens', () => !driver.hasEventListeners(), 2000);
  });

  it('keeps the job events of apps on two databases of one Redis apart, though they share a prefix', async () => {
    const prefix = `tq-dbs-${randomBytes(3).toString('hex')}`;
    const onDatabase = (db: number) => {
      const driver = new RedisQueueDriver({ connection: { host: '127.0.0.1', port: 6379, db }, prefix });
      cleanups.push(() => driver.close());
      return driver;
    };
    const [zero, one] = [onDatabase(0), onDatabase(1)];
    expect([zero.keys.eventsChannel, one.keys.eventsChannel]).toEqual([
      `${prefix}:events`, // database 0 keeps the names external listeners know
      `${prefix}:db1:events`,
    ]);
    const heard: string[] = [];
    const stop = await one.subscribeEvents((event) => heard.push(event.id));
    cleanups.push(stop);
    const publish = (driver: RedisQueueDriver, id: string) => {
      const events = new JobEventPublisher(driver);
      events.emit(job(id), 'queued', 0);
      events.flush();
    };

    publish(zero, 'on-database-0');
    publish(one, 'on-database-1');
    await until('the event of its own database', () => heard.includes('on-database-1'), 2000);
    await sleep(50);
    expect(heard).toEqual(['on-database-1']);
  });
});
