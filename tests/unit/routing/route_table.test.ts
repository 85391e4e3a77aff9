import { describe, expect, it } from 'vitest';
import { InvalidRouteError } from '../../../core/errors.js';
import {
  compose,
  describeHandler,
  type Middleware,
  type RouteParams,
  RouteTable,
} from '../../../core/routing/index.js';

interface Ctx {
  topic: string;
  params: RouteParams;
  log: string[];
}

const noop = async () => {};
const named = (name: string): Middleware<Ctx> => {
  const step: Middleware<Ctx> = async (ctx, next) => {
    ctx.log.push(name);
    await next();
  };
  Object.defineProperty(step, 'name', { value: name });
  return step;
};

describe('RouteTable.on', () => {
  it('records the pattern, filter, QoS 1 and no sharing by default', () => {
    const routes = new RouteTable<Ctx>();
    async function storeTelemetry() {}
    routes.on('devices/{deviceId}/telemetry', storeTelemetry);
    expect(routes.routes()).toEqual([
      expect.objectContaining({
        pattern: 'devices/{deviceId}/telemetry',
        paramNames: ['deviceId'],
        filter: 'devices/+/telemetry',
        subscription: 'devices/+/telemetry',
        qos: 1,
        sharedGroup: null,
        middlewareNames: [],
        handler: storeTelemetry,
        handlerName: 'storeTelemetry',
      }),
    ]);
  });

  it('rejects an invalid pattern at definition time', () => {
    expect(() => new RouteTable<Ctx>().on('a/#/b', noop)).toThrow(InvalidRouteError);
  });

  it('rejects a QoS other than 0, 1 or 2 and a malformed shared group name', () => {
    const routes = new RouteTable<Ctx>();
    expect(() => routes.on('a', noop, { qos: 3 as 1 })).toThrow(/qos must be 0, 1 or 2/);
    expect(() => routes.on('a', noop, { shared: 'a/b' })).toThrow(InvalidRouteError);
    expect(() => routes.on('a', noop, { shared: '' })).toThrow(/non-empty/);
    expect(() => new RouteTable<Ctx>({ sharedGroup: 'x+y' })).toThrow(InvalidRouteError);
    expect(() => new RouteTable<Ctx>({ defaultQos: 5 as 1 })).toThrow(/qos must be 0, 1 or 2/);
  });
});

describe('RouteTable shared subscriptions', () => {
  it('subscribes shared: true routes through the default group, topiq unless configured', () => {
    const routes = new RouteTable<Ctx>();
    routes.on('devices/{id}/telemetry', noop, { shared: true });
    expect(routes.routes()[0]).toMatchObject({
      sharedGroup: 'topiq',
      subscription: '$share/topiq/devices/+/telemetry',
    });
    const custom = new RouteTable<Ctx>({ sharedGroup: 'ingest' });
    custom.on('devices/{id}/telemetry', noop, { shared: true });
    expect(custom.routes()[0]!.subscription).toBe('$share/ingest/devices/+/telemetry');
  });

  it('subscribes through a named group when shared is a string', () => {
    const routes = new RouteTable<Ctx>();
    routes.on('files/{path*}', noop, { shared: 'uploads' });
    expect(routes.routes()[0]).toMatchObject({
      sharedGroup: 'uploads',
      subscription: '$share/uploads/files/#',
    });
  });
});

describe('RouteTable.group', () => {
  it('joins nested prefixes with /', () => {
    const routes = new RouteTable<Ctx>();
    routes.group({ prefix: 'devices/{deviceId}' }, (group) => {
      group.on('status', noop);
      group.on('', noop);
      group.group({ prefix: 'alerts' }, (alerts) => alerts.on('{level}', noop));
    });
    expect(routes.routes().map((route) => route.pattern)).toEqual([
      'devices/{deviceId}/status',
      'devices/{deviceId}',
      'devices/{deviceId}/alerts/{level}',
    ]);
  });

  it('runs middleware outer group first, then inner group, then the route', async () => {
    const routes = new RouteTable<Ctx>();
    routes.group({ prefix: 'a', middleware: [named('outer')] }, (outer) => {
      outer.group({ prefix: 'b', middleware: [named('inner')] }, (inner) => {
        inner.on('c', noop, { middleware: [named('route')] });
      });
      outer.on('d', noop);
    });
    const [deep, shallow] = routes.routes();
    expect(deep!.middlewareNames).toEqual(['outer', 'inner', 'route']);
    expect(shallow!.middlewareNames).toEqual(['outer']);
    const ctx: Ctx = { topic: 'a/b/c', params: {}, log: [] };
    await compose(deep!.middleware, (c) => {
      c.log.push('handler');
    })(ctx);
    expect(ctx.log).toEqual(['outer', 'inner', 'route', 'handler']);
  });

  it('passes QoS and sharing down to its routes, which may override them', () => {
    const routes = new RouteTable<Ctx>();
    routes.group({ prefix: 'g', qos: 2, shared: true }, (group) => {
      group.on('inherits', noop);
      group.on('overrides', noop, { qos: 0, shared: false });
    });
    expect(routes.routes().map((r) => [r.qos, r.subscription])).toEqual([
      [2, '$share/topiq/g/inherits'],
      [0, 'g/overrides'],
    ]);
  });

  it('rejects a param name repeated between a prefix and a route', () => {
    const routes = new RouteTable<Ctx>();
    expect(() => routes.group({ prefix: 'devices/{id}' }, (group) => group.on('x/{id}', noop))).toThrow(
      /\{id\} appears twice/,
    );
  });

  it('refuses an async build function, whose routes would be added after the table is read', async () => {
    const table = new RouteTable<Ctx>();
    let late: () => void = () => {};
    const added = new Promise<void>((resolve) => (late = resolve));
    expect(() =>
      table.group({ prefix: 'devices/{deviceId}' }, async (group) => {
        await added;
        group.on('status', noop);
      }),
    ).toThrow(
      expect.objectContaining({
        code: 'E_INVALID_ROUTE',
        message: expect.stringContaining('returned a promise'),
      }),
    );
    // a build that rejects later is not an unhandled rejection
    expect(() =>
      table.group({ prefix: 'a' }, async () => {
        throw new Error('schema file missing');
      }),
    ).toThrow(InvalidRouteError);
    late();
  });

  it('rejects a malformed prefix even when the group defines no route', () => {
    expect(() => new RouteTable<Ctx>().group({ prefix: 'a{b}' }, () => {})).toThrow(InvalidRouteError);
  });
});

describe('RouteTable.subscriptions', () => {
  it('lists each subscription once, in order of first use, with the highest QoS asked for', () => {
    const routes = new RouteTable<Ctx>();
    routes.on('devices/{id}/telemetry', noop, { qos: 0 });
    routes.on('devices/+/status', noop, { qos: 0 });
    routes.on('devices/{deviceId}/telemetry', noop, { qos: 2 });
    routes.on('devices/{other}/telemetry', noop, { qos: 1 });
    routes.on('devices/{id}/telemetry', noop, { shared: true });
    expect(routes.subscriptions()).toEqual([
      { filter: 'devices/+/telemetry', qos: 2 },
      { filter: 'devices/+/status', qos: 0 },
      { filter: '$share/topiq/devices/+/telemetry', qos: 1 },
    ]);
  });
});

describe('RouteTable.buildRouter', () => {
  it('builds a router whose matches carry the route record, most specific first', () => {
    const routes = new RouteTable<Ctx>();
    routes.on('devices/#', noop, { qos: 0 });
    routes.group({ prefix: 'devices/{deviceId}' }, (group) => group.on('telemetry', noop, { qos: 2 }));
    const matches = routes.buildRouter().match('devices/d9/telemetry');
    expect(matches.map((m) => [m.pattern, m.meta.qos, { ...m.params }])).toEqual([
      ['devices/{deviceId}/telemetry', 2, { deviceId: 'd9' }],
      ['devices/#', 0, {}],
    ]);
  });

  it('takes controller references as handlers and names them Class.method', () => {
    class DevicesController {
      async store() {}
    }
    const routes = new RouteTable<Ctx, [typeof DevicesController, 'store']>();
    routes.on('devices/{id}', [DevicesController, 'store']);
    expect(routes.routes()[0]!.handlerName).toBe('DevicesController.store');
    expect(routes.buildRouter().match('devices/1')[0]!.handler).toEqual([DevicesController, 'store']);
  });
});

describe('describeHandler', () => {
  it('names functions, controller references, instances and strings', () => {
    class Telemetry {}
    expect(describeHandler(function onStatus() {})).toBe('onStatus');
    expect(describeHandler(() => {})).toBe('<anonymous>');
    expect(describeHandler([Telemetry, 'store'])).toBe('Telemetry.store');
    expect(describeHandler([new Telemetry(), 'store'])).toBe('Telemetry.store');
    expect(describeHandler('jobs.telemetry')).toBe('jobs.telemetry');
    expect(describeHandler(42)).toBe('<number>');
  });
});
