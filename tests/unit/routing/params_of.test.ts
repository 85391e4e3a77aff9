import { describe, expectTypeOf, it } from 'vitest';
import type { JoinPattern, ParamsOf } from '../../../core/routing/index.js';
import { RouteTable } from '../../../core/routing/index.js';

interface Ctx {
  topic: string;
  params: {};
}

describe('ParamsOf', () => {
  it('has one string field per {name} and {name*} in the pattern', () => {
    expectTypeOf<ParamsOf<'devices/{deviceId}/x/{rest*}'>>().toEqualTypeOf<{
      deviceId: string;
      rest: string;
    }>();
    expectTypeOf<ParamsOf<'{a}/+/{b}/#'>>().toEqualTypeOf<{ a: string; b: string }>();
  });

  it('is empty for a pattern without params and a string record for an unknown pattern', () => {
    expectTypeOf<ParamsOf<'a/+/#'>>().toEqualTypeOf<{}>();
    expectTypeOf<ParamsOf<string>>().toEqualTypeOf<Readonly<Record<string, string>>>();
  });

  it('joins group prefixes the way groups do', () => {
    expectTypeOf<JoinPattern<'devices/{id}', 'status'>>().toEqualTypeOf<'devices/{id}/status'>();
    expectTypeOf<JoinPattern<'', 'status'>>().toEqualTypeOf<'status'>();
    expectTypeOf<JoinPattern<'devices', ''>>().toEqualTypeOf<'devices'>();
  });
});

describe('RouteTable handler params', () => {
  it('types ctx.params in a function handler from the full pattern, group prefixes included', () => {
    const routes = new RouteTable<Ctx>();
    routes.on('devices/{deviceId}/telemetry', async (ctx) => {
      expectTypeOf(ctx.params).toEqualTypeOf<{ deviceId: string }>();
      expectTypeOf(ctx.topic).toEqualTypeOf<string>();
      // @ts-expect-error: the pattern declares no {tenant}
      void ctx.params.tenant;
    });
    routes.group({ prefix: 'tenants/{tenant}' }, (tenant) => {
      tenant.group({ prefix: 'devices/{deviceId}' }, (device) => {
        device.on('logs/{path*}', (ctx) => {
          expectTypeOf(ctx.params).toEqualTypeOf<{ tenant: string; deviceId: string; path: string }>();
        });
      });
    });
  });

  it('leaves controller references untyped by the pattern', () => {
    class Devices {
      async store(_ctx: Ctx) {}
    }
    const routes = new RouteTable<Ctx, [typeof Devices, keyof Devices]>();
    routes.on('devices/{id}', [Devices, 'store']);
    // @ts-expect-error: not a method of Devices
    routes.on('devices/{id}', [Devices, 'destroy']);
  });
});
