/**
 * Controller references at boot: a method on the prototype, or a function the constructor sets
 * (an arrow-function property, which the compiler accepts too), handles the route; a name that
 * is neither is refused with E_INVALID_ROUTE before any message.
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable, isTopiqError, type MessageContext } from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';

const handled: string[] = [];

class MethodController {
  async store(ctx: MessageContext<{ deviceId: string }>): Promise<void> {
    handled.push(`method ${ctx.params.deviceId}`);
  }
}

class ArrowController {
  readonly store = async (ctx: MessageContext<{ deviceId: string }>): Promise<void> => {
    handled.push(`arrow ${ctx.params.deviceId}`);
  };
}

class EmptyController {}

/** What the toString handlers below ran. */
const ran: string[] = [];

describe('controller references', () => {
  it('runs a method of the prototype and a function set by the constructor alike', async () => {
    handled.length = 0;
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/a', [MethodController, 'store']);
    routes.on('devices/{deviceId}/b', [ArrowController, 'store']);
    const { pipeline, deadLetters } = memoryPipeline(routes);

    await pipeline.handle(fakeMessage('devices/d1/a', {}));
    await pipeline.handle(fakeMessage('devices/d2/b', {}));

    expect(handled).toEqual(['method d1', 'arrow d2']);
    expect(await deadLetters.list(10)).toEqual([]);
  });

  /** The boot check's refusal of a route to `Controller`'s `method`, if any. */
  const bootRefusal = (Controller: new () => object, method: string): unknown => {
    const routes = createRouteTable();
    // a name typed as a plain string gets past the compiler
    routes.on('devices/{deviceId}/c', [Controller, method as never]);
    try {
      memoryPipeline(routes);
      return undefined;
    } catch (error) {
      return error;
    }
  };

  it('refuses at boot a name that is no function of the controller', () => {
    const thrown = bootRefusal(EmptyController, 'store');
    expect(isTopiqError(thrown, 'E_INVALID_ROUTE')).toBe(true);
    expect((thrown as Error).message).toMatch(/EmptyController\.store is not a method of EmptyController/);
  });

  it.each(['toString', 'constructor', 'valueOf'])(
    'refuses at boot %s, which every object has, as a handler named by a string',
    (method) => {
      const thrown = bootRefusal(EmptyController, method);
      expect(isTopiqError(thrown, 'E_INVALID_ROUTE')).toBe(true);
      expect((thrown as Error).message).toMatch(/are no handlers/);
    },
  );

  it.each([
    [
      'sets itself (an arrow-function property)',
      class ArrowController {
        toString = () => {
          ran.push('toString');
          return '';
        };
      },
    ],
    [
      'defines itself',
      class PrintingController {
        toString() {
          ran.push('toString');
          return '';
        }
      },
    ],
  ])('takes a toString the controller %s as a handler', async (_how, Controller) => {
    ran.length = 0;
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/q', [Controller, 'toString']);
    const { pipeline } = memoryPipeline(routes);
    await pipeline.handle(fakeMessage('devices/d1/q', {}));
    expect(ran).toEqual(['toString']);
  });
});
