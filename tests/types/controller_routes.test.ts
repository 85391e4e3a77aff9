/**
 * Type-level proof that controller references are checked against their route: the method
 * must exist on the controller and take the context of the route's full pattern. `tsc` (run
 * by `npm test` before vitest) fails if any `@ts-expect-error` below stops being an error;
 * the runtime test only keeps vitest aware of the file.
 */
import { describe, expectTypeOf, it } from 'vitest';
import {
  type AppRouteTable,
  type ControllerReference,
  createRouteTable,
  type MemoryRateLimiter,
  type MessageContext,
  rateLimit,
} from '../../core/index.js';
import type { MethodsAccepting, RouteContext } from '../../core/routing/index.js';

class ClaimController {
  /** Not a method: a reference to it must not compile. */
  readonly label = 'claims';

  async claimed(_ctx: MessageContext<{ deviceId: string }>): Promise<void> {}

  /** Names a param no route below declares. */
  async misnamed(_ctx: MessageContext<{ devId: string }>): Promise<void> {}

  /** Needs no params. */
  async loose(_ctx: MessageContext<{}>): Promise<void> {}

  /** Declares no context at all. */
  async ping(): Promise<void> {}

  /** Needs both params of `devices/{deviceId}/alarms/{kind}`. */
  async alarm(_ctx: MessageContext<{ deviceId: string; kind: string }>): Promise<void> {}

  /** The pipeline passes the context alone, so a second required argument is never given. */
  async twoArguments(_ctx: MessageContext<{ deviceId: string }>, _extra: string): Promise<void> {}
}

class NeedsArguments {
  constructor(readonly prefix: string) {}
  async claimed(_ctx: MessageContext<{}>): Promise<void> {}
}

/** Route and group middleware see the params of their pattern, as handlers do. */
function compileOnlyMiddleware(routes: AppRouteTable, limiter: MemoryRateLimiter): void {
  routes.on('devices/{deviceId}/m', () => {}, {
    middleware: [
      async (ctx, next) => {
        ctx.log.info({ device: ctx.params.deviceId });
        await next();
      },
    ],
  });
  routes.on('devices/{deviceId}/t', () => {}, {
    middleware: [
      async (ctx, next) => {
        // @ts-expect-error: no such param on this route
        void ctx.params.devceId;
        await next();
      },
    ],
  });
  routes.group(
    {
      prefix: 'devices/{deviceId}',
      middleware: [
        async (ctx, next) => {
          void ctx.params.deviceId;
          await next();
        },
      ],
    },
    (device) => {
      device.on('x', () => {});
    },
  );
  // a middleware written for the route's params is taken
  const needsDevice = async (ctx: MessageContext<{ deviceId: string }>, next: () => Promise<void>) => {
    void ctx.params.deviceId;
    await next();
  };
  routes.on('devices/{deviceId}/n', () => {}, { middleware: [needsDevice] });
  // a pattern built at run time: its params cannot be known, so any name is taken
  for (const kind of ['a', 'b']) {
    routes.on(`devices/{deviceId}/${kind}`, (ctx) => void ctx.params.deviceId, {
      middleware: [
        rateLimit(limiter, { limit: 1, windowMs: 1000, key: (ctx) => ctx.params.deviceId }),
        needsDevice,
      ],
    });
  }
  // rateLimit's key sees them too: a typo would let every message through unlimited
  routes.on('devices/{deviceId}/limited', () => {}, {
    middleware: [rateLimit(limiter, { limit: 1, windowMs: 1000, key: (ctx) => ctx.params.deviceId })],
  });
  routes.on('devices/{deviceId}/limited2', () => {}, {
    // @ts-expect-error: no such param
    middleware: [rateLimit(limiter, { limit: 1, windowMs: 1000, key: (ctx) => ctx.params.devceId })],
  });
}

function compileOnly(routes: AppRouteTable): void {
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'claimed']);
  // @ts-expect-error: a typo'd method name
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'claim']);
  // @ts-expect-error: the method expects params.devId, the route yields params.deviceId
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'misnamed']);
  // @ts-expect-error: the method expects params.deviceId, the route has no params
  routes.on('devices/claimed', [ClaimController, 'claimed']);
  // @ts-expect-error: `label` is a string, not a method
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'label']);
  // @ts-expect-error: the method needs an argument besides the context
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'twoArguments']);
  // @ts-expect-error: the pipeline builds controllers without arguments
  routes.on('devices/{deviceId}/claimed', [NeedsArguments, 'claimed']);

  // A method that asks for less than the route gives is fine.
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'loose']);
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'ping']);
  routes.on('devices/{deviceId}/alarms/{kind}', [ClaimController, 'claimed']);
  routes.on('devices/{deviceId}/alarms/{kind}', [ClaimController, 'alarm']);
  // @ts-expect-error: the route has no {kind}
  routes.on('devices/{deviceId}/claimed', [ClaimController, 'alarm']);

  // A reference kept in a variable is checked where it is used.
  const claimed = [ClaimController, 'claimed'] as const;
  routes.on('devices/{deviceId}/claimed', claimed);
  // @ts-expect-error: the same reference on a route without {deviceId}
  routes.on('sites/{siteId}/claimed', claimed);

  // Group prefixes count, as they do for function handlers.
  routes.group({ prefix: 'devices/{deviceId}' }, (device) => {
    device.on('claimed', [ClaimController, 'claimed']);
    // @ts-expect-error: the prefix declares {deviceId}, not {devId}
    device.on('claimed', [ClaimController, 'misnamed']);
    device.group({ prefix: 'alarms' }, (alarms) => {
      alarms.on('{kind}', [ClaimController, 'alarm']);
      // @ts-expect-error: the route has no {kind} of its own, and neither prefix gives one
      alarms.on('all', [ClaimController, 'alarm']);
    });
  });
  routes.group({ prefix: 'sites/{siteId}' }, (site) => {
    // @ts-expect-error: this prefix gives {siteId}, the method wants {deviceId}
    site.on('claimed', [ClaimController, 'claimed']);
  });

  // An inline handler with its context written out, as docs/routing.md shows one: the pattern
  // alone decides the params (the handler's annotation is checked against them, not read for them)
  routes.on(
    'devices/{deviceId}/logs/{path*}',
    async (_ctx: MessageContext<{ deviceId: string; path: string }>) => {},
  );
  routes.on('devices/{deviceId}/logs', async (_ctx: MessageContext<{ deviceId: string }>) => {});
  routes.group({ prefix: 'devices/{deviceId}' }, (device) => {
    device.on('logs/{kind}', async (_ctx: MessageContext<{ deviceId: string; kind: string }>) => {});
  });
  const wantsKind = async (_ctx: MessageContext<{ deviceId: string; kind: string }>) => {};
  // @ts-expect-error: the handler wants params.kind, which the pattern does not give
  routes.on('devices/{deviceId}/logs', wantsKind);

  // Left to the check at boot: a name typed as any string, and a generic controller class.
  const fromConfig: ControllerReference = [ClaimController, 'claimed'];
  routes.on('devices/{deviceId}/claimed', fromConfig);
  const register = (reference: readonly [new () => object, string]) =>
    routes.on('devices/{deviceId}/claimed', reference);
  register([ClaimController, 'claimed']);
  routes.on('devices/{deviceId}/claimed', [GenericController, 'claimed']);
}

class GenericController<T = unknown> {
  value?: T;
  async claimed(_ctx: MessageContext<{ deviceId: string }>): Promise<number> {
    return 1;
  }
}

describe('controller reference types', () => {
  it('takes only methods that accept the context of the route', () => {
    type Claimed = RouteContext<MessageContext<{}>, 'devices/{deviceId}/claimed'>;
    expectTypeOf<Claimed['params']>().toEqualTypeOf<{ deviceId: string }>();
    expectTypeOf<MethodsAccepting<ClaimController, Claimed>>().toEqualTypeOf<'claimed' | 'loose' | 'ping'>();
    type Alarm = RouteContext<MessageContext<{}>, 'devices/{deviceId}/alarms/{kind}'>;
    expectTypeOf<MethodsAccepting<ClaimController, Alarm>>().toEqualTypeOf<
      'claimed' | 'loose' | 'ping' | 'alarm'
    >();
    expectTypeOf(compileOnly).toBeFunction();
    expectTypeOf(compileOnlyMiddleware).toBeFunction();
    expectTypeOf(createRouteTable).returns.toEqualTypeOf<AppRouteTable>();
  });
});
