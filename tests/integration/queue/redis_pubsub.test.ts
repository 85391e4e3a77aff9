/**
 * The subscriber connection of `RedisPubSub` against a real Redis: subscriptions made while it
 * connects, and messages reaching each channel's listeners.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisPubSub } from '../../../core/queue/drivers/redis/redis_pubsub.js';
import { uniqueQueue } from '../../support/queue_names.js';
import { TcpProxy } from '../../support/tcp_proxy.js';
import { until } from '../../support/until.js';

describe('RedisPubSub.subscribe', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  it('subscribes to a second channel asked for while the connection is still being set up', async () => {
    const source = new Redis('redis://127.0.0.1:6379');
    const pubsub = new RedisPubSub(source);
    cleanups.push(() => {
      pubsub.close();
      source.disconnect();
    });
    const [first, second] = [uniqueQueue('pubsub-a'), uniqueQueue('pubsub-b')];
    // the moment ioredis is connected but has not run its handshake and ready check: a
    // SUBSCRIBE may be written at once then, ahead of them (ioredis #2037)
    const duplicate = source.duplicate.bind(source);
    let secondSubscribed: Promise<unknown> | undefined;
    const heard: string[] = [];
    source.duplicate = (options) => {
      const subscriber = duplicate(options);
      subscriber.once('connect', () => {
        secondSubscribed = pubsub.subscribe(second, (message) => heard.push(`${second}:${message}`));
      });
      return subscriber;
    };
    await pubsub.subscribe(first, (message) => heard.push(`${first}:${message}`));
    await until('the second subscription is asked for', () => secondSubscribed !== undefined);
    await secondSubscribed;
    await pubsub.publishAndWait(first, 'one');
    await pubsub.publishAndWait(second, 'two');
    await until('both messages arrive', () => heard.length === 2);
    expect(heard).toEqual([`${first}:one`, `${second}:two`]);
  });
});

describe('RedisPubSub: callers that share a channel', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  function pubsubOn(source: Redis): RedisPubSub {
    const pubsub = new RedisPubSub(source);
    cleanups.push(() => {
      pubsub.close();
      source.disconnect();
    });
    return pubsub;
  }

  it('keeps the first caller subscribed when a second one joins and leaves before the SUBSCRIBE returns', async () => {
    const pubsub = pubsubOn(new Redis('redis://127.0.0.1:6379'));
    const channel = uniqueQueue('pubsub-shared');
    const heard: string[] = [];
    const first = pubsub.subscribe(channel, (message) => heard.push(`first:${message}`));
    const unsubscribeSecond = await pubsub.subscribe(channel, (message) => heard.push(`second:${message}`));
    await unsubscribeSecond();
    await first;
    await pubsub.publishAndWait(channel, 'one');
    await until('the first caller hears the message', () => heard.length === 1);
    expect(heard).toEqual(['first:one']);
  });

  it('fails every caller waiting on a refused SUBSCRIBE, and subscribes again for a later one', async () => {
    const admin = new Redis('redis://127.0.0.1:6379');
    const channel = uniqueQueue('pubsub-refused');
    const user = `topiq-test-${channel}`;
    // a real refusal: a user who may not subscribe to the channel, until allowed to
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret', '~*', '+@all', 'resetchannels');
    cleanups.push(async () => {
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    });
    const pubsub = pubsubOn(new Redis({ host: '127.0.0.1', port: 6379, username: user, password: 'secret' }));
    const heard: string[] = [];
    const first = pubsub.subscribe(channel, (message) => heard.push(`first:${message}`));
    const second = pubsub.subscribe(channel, (message) => heard.push(`second:${message}`));
    await expect(first).rejects.toThrow(/NOPERM/);
    await expect(second).rejects.toThrow(/NOPERM/);
    await admin.call('ACL', 'SETUSER', user, `&${channel}`);
    await pubsub.subscribe(channel, (message) => heard.push(`third:${message}`));
    await admin.publish(channel, 'one');
    await until('the later caller hears the message', () => heard.length === 1);
    expect(heard).toEqual(['third:one']);
  });

  it('stays unsubscribed from a channel it left while Redis was away, once it reconnects', async () => {
    const proxy = await TcpProxy.start(6379);
    const source = new Redis({ port: proxy.port, maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    source.on('error', () => {});
    const pubsub = new RedisPubSub(source);
    const direct = new Redis('redis://127.0.0.1:6379');
    cleanups.push(() => {
      pubsub.close();
      source.disconnect();
      direct.disconnect();
      void proxy.close();
    });
    const channel = uniqueQueue('pubsub-left');
    const numsub = async () => Number((await direct.pubsub('NUMSUB', channel))[1]);
    const unsubscribe = await pubsub.subscribe(channel, () => {});
    expect(await numsub()).toBe(1);

    await proxy.cut();
    await unsubscribe(); // its UNSUBSCRIBE cannot be sent
    await proxy.restore();

    await until('the subscriber is back', () => pubsub.subscriberReady, 5000);
    await until(
      'the channel is left again after ioredis subscribed it anew',
      async () => (await numsub()) === 0,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await numsub()).toBe(0);
  });
});
