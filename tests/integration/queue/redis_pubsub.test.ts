/**
 * The subscriber connection of `RedisPubSub` against a real Redis: subscriptions made while it
 * connects, and messages reaching each channel's listeners.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisPubSub } from '../../../core/queue/drivers/redis/redis_pubsub.js';
import { uniqueQueue } from '../../support/queue_names.js';
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
