/**
 * The behaviour every TopicRouter implementation must show. Each implementation's test
 * file calls `describeTopicRouterContract` with a factory.
 */
import { describe, expect, it } from 'vitest';
import type { TopicRouter } from '../../../core/routing/index.js';

type RouterFactory = <M = undefined>() => TopicRouter<string, M>;

function routerWith(create: RouterFactory, patterns: readonly string[]): TopicRouter<string> {
  const router = create();
  for (const pattern of patterns) router.add(pattern, pattern);
  return router;
}

export function describeTopicRouterContract(name: string, create: RouterFactory): void {
  const handlers = (patterns: readonly string[], topic: string) =>
    routerWith(create, patterns)
      .match(topic)
      .map((match) => match.handler);
  const paramsOf = (pattern: string, topic: string) => {
    const [match] = routerWith(create, [pattern]).match(topic);
    return match === undefined ? undefined : { ...match.params };
  };

  describe(`${name} (TopicRouter contract)`, () => {
    it('captures a named param from exactly one level', () => {
      expect(paramsOf('devices/{deviceId}/telemetry', 'devices/d-1/telemetry')).toEqual({ deviceId: 'd-1' });
      expect(handlers(['devices/{deviceId}/telemetry'], 'devices/a/b/telemetry')).toEqual([]);
      expect(handlers(['devices/{deviceId}/telemetry'], 'devices/telemetry')).toEqual([]);
    });

    it('matches an empty level with a named param or +, as MQTT does', () => {
      expect(paramsOf('a/{x}/b', 'a//b')).toEqual({ x: '' });
      expect(handlers(['a/+/b'], 'a//b')).toEqual(['a/+/b']);
    });

    it('matches one unnamed level with + and captures nothing', () => {
      expect(paramsOf('sensors/+/temp', 'sensors/s1/temp')).toEqual({});
      expect(handlers(['sensors/+/temp'], 'sensors/s1/x/temp')).toEqual([]);
    });

    it('matches any number of levels with #, including the parent level', () => {
      const patterns = ['sensors/#'];
      expect(handlers(patterns, 'sensors')).toEqual(patterns);
      expect(handlers(patterns, 'sensors/a')).toEqual(patterns);
      expect(handlers(patterns, 'sensors/a/b/c')).toEqual(patterns);
      expect(handlers(patterns, 'other/a')).toEqual([]);
      expect(handlers(['#'], 'any/topic/at/all')).toEqual(['#']);
    });

    it('captures the rest of the topic with {name*}, which needs at least one level', () => {
      expect(paramsOf('files/{path*}', 'files/a/b/c.txt')).toEqual({ path: 'a/b/c.txt' });
      expect(paramsOf('files/{path*}', 'files/a')).toEqual({ path: 'a' });
      expect(paramsOf('files/{path*}', 'files')).toBeUndefined();
      expect(paramsOf('{site}/{path*}', 'lab/x/y')).toEqual({ site: 'lab', path: 'x/y' });
    });

    it('matches literal levels literally, regex metacharacters included', () => {
      const pattern = 'sensors/temp.c/x*y/(a|b)/[0-9]?/^$\\';
      expect(handlers([pattern], 'sensors/temp.c/x*y/(a|b)/[0-9]?/^$\\')).toEqual([pattern]);
      expect(handlers([pattern], 'sensors/tempXc/x*y/(a|b)/[0-9]?/^$\\')).toEqual([]);
      expect(handlers([pattern], 'sensors/temp.c/xxy/a/5/^$\\')).toEqual([]);
    });

    it('does not match a topic starting with $ through a wildcard in the first level', () => {
      const patterns = ['#', '+/broker/load', '{root}/broker/load', '{rest*}'];
      expect(handlers(patterns, '$SYS/broker/load')).toEqual([]);
      expect(handlers([...patterns, '$SYS/#'], '$SYS/broker/load')).toEqual(['$SYS/#']);
      expect(handlers(['$SYS/+/load'], '$SYS/broker/load')).toEqual(['$SYS/+/load']);
      expect(handlers(['a/+', 'a/#'], 'a/$b')).toEqual(['a/+', 'a/#']);
    });

    it('returns every matching route, most specific first', () => {
      const patterns = [
        '#',
        'devices/#',
        'devices/{deviceId}/{rest*}',
        'devices/+/telemetry',
        'devices/d1/#',
        'devices/{deviceId}/telemetry',
        'devices/d1/telemetry',
        '+/d1/telemetry',
        'devices/d1/+',
      ];
      expect(handlers(patterns, 'devices/d1/telemetry')).toEqual([
        'devices/d1/telemetry',
        'devices/d1/+',
        'devices/d1/#',
        'devices/+/telemetry',
        'devices/{deviceId}/telemetry',
        'devices/{deviceId}/{rest*}',
        'devices/#',
        '+/d1/telemetry',
        '#',
      ]);
    });

    it('puts a route ending at the topic before a # that matches it as its parent', () => {
      expect(handlers(['a/#', 'a', 'a/+/#', '+'], 'a')).toEqual(['a', 'a/#', '+']);
    });

    it('keeps routes of the same shape in the order they were added, duplicates included', () => {
      const router = create();
      router.add('devices/{id}/x', 'first');
      router.add('devices/+/x', 'second');
      router.add('devices/{deviceId}/x', 'third');
      router.add('devices/{id}/x', 'fourth');
      router.add('devices/{rest*}', 'fifth');
      router.add('devices/#', 'sixth');
      expect(router.match('devices/d/x').map((m) => m.handler)).toEqual([
        'first',
        'second',
        'third',
        'fourth',
        'fifth',
        'sixth',
      ]);
    });

    it('returns the pattern and the meta given with each route', () => {
      const router = create<{ qos: number }>();
      router.add('a/{b}', 'handler', { qos: 2 });
      expect(router.match('a/c')).toEqual([
        { handler: 'handler', params: expect.anything(), pattern: 'a/{b}', meta: { qos: 2 } },
      ]);
    });

    it('returns params that inherit nothing from Object.prototype, so topic levels cannot pollute it', () => {
      const router = routerWith(create, ['devices/{deviceId}/telemetry', 'files/{path*}']);
      const [device] = router.match('devices/__proto__/telemetry');
      expect(device!.params instanceof Object).toBe(false);
      expect('toString' in device!.params).toBe(false);
      expect(device!.params.constructor).toBeUndefined();
      expect(Object.keys(device!.params)).toEqual(['deviceId']);
      expect(device!.params.deviceId).toBe('__proto__');
      const [file] = router.match('files/__proto__/constructor/prototype');
      expect(file!.params.path).toBe('__proto__/constructor/prototype');
      expect(({} as Record<string, unknown>).deviceId).toBeUndefined();
      expect(Object.prototype).not.toHaveProperty('path');
    });

    it('finds nothing for levels named like Object.prototype members', () => {
      const patterns = ['devices/{deviceId}'];
      for (const topic of ['constructor', '__proto__', 'toString/x', 'hasOwnProperty']) {
        expect(handlers(patterns, topic)).toEqual([]);
      }
    });

    it('matches nothing for an empty topic or when no route fits', () => {
      expect(handlers(['{x}', '#'], '')).toEqual([]);
      expect(handlers(['a/b'], 'a/c')).toEqual([]);
      expect(handlers([], 'a')).toEqual([]);
    });

    it('rejects an invalid pattern with InvalidRouteError', () => {
      expect(() => create().add('a/#/b', 'x')).toThrow(expect.objectContaining({ code: 'E_INVALID_ROUTE' }));
    });
  });
}
