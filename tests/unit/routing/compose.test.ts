import { describe, expect, it } from 'vitest';
import { NextCalledTwiceError } from '../../../core/errors.js';
import { compose, type Middleware } from '../../../core/routing/index.js';

interface Ctx {
  log: string[];
}

const step =
  (name: string): Middleware<Ctx> =>
  async (ctx, next) => {
    ctx.log.push(`${name}:before`);
    await next();
    ctx.log.push(`${name}:after`);
  };

/** Runs `body`, then a little longer, and returns the unhandled rejections seen meanwhile. */
async function collectUnhandled(body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await body();
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  return unhandled;
}

describe('compose', () => {
  it('runs middleware in array order around the final handler, onion style', async () => {
    const ctx: Ctx = { log: [] };
    await compose([step('outer'), step('inner')], (c) => {
      c.log.push('handler');
    })(ctx);
    expect(ctx.log).toEqual(['outer:before', 'inner:before', 'handler', 'inner:after', 'outer:after']);
  });

  it('runs just the final handler when there is no middleware', async () => {
    const ctx: Ctx = { log: [] };
    await compose<Ctx>([], async (c) => {
      c.log.push('handler');
    })(ctx);
    expect(ctx.log).toEqual(['handler']);
  });

  it('stops the chain when a middleware does not call next', async () => {
    const ctx: Ctx = { log: [] };
    const guard: Middleware<Ctx> = (c) => {
      c.log.push('guard');
    };
    await compose([guard, step('later')], (c) => {
      c.log.push('handler');
    })(ctx);
    expect(ctx.log).toEqual(['guard']);
  });

  it('rejects with NextCalledTwiceError when a middleware calls next twice', async () => {
    const twice: Middleware<Ctx> = async function callsNextTwice(_ctx, next) {
      await next();
      await next();
    };
    const run = compose([twice], () => {});
    await expect(run({ log: [] })).rejects.toBeInstanceOf(NextCalledTwiceError);
    await expect(run({ log: [] })).rejects.toThrow(/"callsNextTwice".*more than once/);
  });

  it('propagates errors from the handler through the middleware that awaited it', async () => {
    const seen: unknown[] = [];
    const catcher: Middleware<Ctx> = async (_ctx, next) => {
      try {
        await next();
      } catch (error) {
        seen.push(error);
        throw error;
      }
    };
    const boom = new Error('boom');
    const run = compose([catcher], () => {
      throw boom;
    });
    await expect(run({ log: [] })).rejects.toBe(boom);
    expect(seen).toEqual([boom]);
  });

  it('waits for a chain a middleware did not await, and fails with its error instead of leaving it unhandled', async () => {
    const hasty: Middleware<Ctx> = (_ctx, next) => {
      void next(); // a mistake: the message would be acknowledged before its jobs are stored
    };
    const ctx: Ctx = { log: [] };
    await compose([hasty], async (c) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      c.log.push('stored');
    })(ctx);
    expect(ctx.log).toEqual(['stored']);

    const unhandled = await collectUnhandled(async () => {
      const late = new Error('late');
      const run = compose([hasty], async () => {
        await new Promise((resolve) => setTimeout(resolve, 20));
        throw late;
      });
      await expect(run({ log: [] })).rejects.toBe(late);
    });
    expect(unhandled).toEqual([]);
  });

  it('fails with the error of an unawaited chain that failed before its middleware returned', async () => {
    const unhandled = await collectUnhandled(async () => {
      const early = new Error('early');
      const slow: Middleware<Ctx> = async (_ctx, next) => {
        void next();
        await new Promise((resolve) => setTimeout(resolve, 10));
      };
      const hasty: Middleware<Ctx> = (_ctx, next) => {
        void next();
      };
      for (const careless of [slow, hasty]) {
        await expect(
          compose([careless], () => {
            throw early; // a synchronous validation error, say
          })({ log: [] }),
        ).rejects.toBe(early);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    expect(unhandled).toEqual([]);
  });

  it('runs nothing for a next() called after its middleware returned, and reports it without failing its caller', async () => {
    let late: Promise<void> | undefined;
    const deferring: Middleware<Ctx> = (_ctx, next) => {
      late = new Promise<void>((resolve) => setTimeout(resolve, 5)).then(() => next());
    };
    const forgetful: Middleware<Ctx> = (_ctx, next) => {
      setTimeout(next, 5); // nobody looks at what it returns
    };
    const awaitingLate: Middleware<Ctx> = (_ctx, next) => {
      setTimeout(async () => {
        await next(); // a rejection here would be unhandled, and end the process
      }, 5);
    };
    const reported: string[] = [];
    const unhandled = await collectUnhandled(async () => {
      const ctx: Ctx = { log: [] };
      for (const careless of [deferring, forgetful, awaitingLate]) {
        await compose([careless], (c) => void c.log.push('handler'), {
          onLateNext: (error) => reported.push(error.code),
        })(ctx);
      }
      await late;
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(ctx.log).toEqual([]);
      expect(reported).toEqual(['E_NEXT_CALLED_LATE', 'E_NEXT_CALLED_LATE', 'E_NEXT_CALLED_LATE']);
    });
    expect(unhandled).toEqual([]);
  });

  it("fails with the error of a chain a middleware chained on without awaiting, and its chained promise's rejection is not left unhandled", async () => {
    const unhandled = await collectUnhandled(async () => {
      const failure = new Error('store failed');
      const chaining: Middleware<Ctx> = (_ctx, next) => {
        void next().finally(() => {});
      };
      // chained on, not awaited, then busy longer than the chain: the chain settled first
      const busy: Middleware<Ctx> = async (_ctx, next) => {
        void next().then(() => {});
        await new Promise((resolve) => setTimeout(resolve, 20));
      };
      const deeper: Middleware<Ctx> = (_ctx, next) => {
        void next()
          .then(() => {})
          .then(() => {});
      };
      for (const careless of [chaining, busy, deeper]) {
        await expect(
          compose([careless], async () => {
            await new Promise((resolve) => setTimeout(resolve, 10));
            throw failure;
          })({ log: [] }),
        ).rejects.toBe(failure);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    });
    expect(unhandled).toEqual([]);
  });

  it('leaves no unhandled rejection where a middleware handles what it chained on next(): a wrap and rethrow, a caught throw', async () => {
    const wrapped = new Error('wrapped');
    const unhandled = await collectUnhandled(async () => {
      const wrapping: Middleware<Ctx> = async (_ctx, next) => {
        await next().catch(() => {
          throw wrapped;
        });
      };
      await expect(
        compose([wrapping], () => {
          throw new Error('boom');
        })({ log: [] }),
      ).rejects.toBe(wrapped);
      const ownThrowCaught: Middleware<Ctx> = async (_ctx, next) => {
        await next()
          .then(() => Promise.reject(new Error('mine')))
          .catch(() => {});
      };
      await compose([ownThrowCaught], () => {})({ log: [] });
    });
    expect(unhandled).toEqual([]);
  });

  it('waits for every chain it started before failing: a middleware that threw, or called next() twice', async () => {
    const order: string[] = [];
    const slowHandler = async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('stored');
    };
    const checkFails: Middleware<Ctx> = async (_ctx, next) => {
      const chain = next();
      await Promise.reject(new Error('check failed'));
      await chain;
    };
    const twice: Middleware<Ctx> = (_ctx, next) => {
      void next();
      void next();
    };
    for (const careless of [checkFails, twice]) {
      await compose(
        [careless],
        slowHandler,
      )({ log: [] }).catch((error: Error) => {
        order.push(`failed: ${(error as { code?: string }).code ?? error.message}`);
      });
    }
    expect(order).toEqual(['stored', 'failed: check failed', 'stored', 'failed: E_NEXT_CALLED_TWICE']);
  });

  it('waits for a chain a middleware chained on but did not await, so the message settles after it', async () => {
    const order: string[] = [];
    const chaining: Middleware<Ctx> = (_ctx, next) => {
      void next().finally(() => order.push('middleware saw the end'));
    };
    await compose([chaining], async () => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      order.push('stored');
    })({ log: [] });
    order.push('settled');
    expect(order).toEqual(['stored', 'middleware saw the end', 'settled']);
  });

  it("shows a middleware its chain's error, and fails with it even when the middleware caught it", async () => {
    const forgiving: Middleware<Ctx> = async (ctx, next) => {
      try {
        await next();
      } catch {
        ctx.log.push('forgiven');
      }
    };
    const catching: Middleware<Ctx> = (ctx, next) =>
      next().catch(() => {
        ctx.log.push('caught');
      });
    const racing: Middleware<Ctx> = async (ctx, next) => {
      // a timeout that wins the race: the chain's error comes after, and no one looks at it
      await Promise.race([next(), new Promise((resolve) => setTimeout(resolve, 5))]);
      ctx.log.push('raced');
    };
    const ctx: Ctx = { log: [] };
    const boom = new Error('boom');
    for (const lenient of [forgiving, catching, racing]) {
      await expect(
        compose([lenient], async () => {
          await new Promise((resolve) => setTimeout(resolve, 10));
          throw boom;
        })(ctx),
      ).rejects.toBe(boom);
    }
    // the failed message carries its handler's error: a middleware cannot turn it into a handled one
    expect(ctx.log).toEqual(['forgiven', 'caught', 'raced']);
  });

  it('rejects when a middleware throws synchronously', async () => {
    const thrower: Middleware<Ctx> = () => {
      throw new Error('sync failure');
    };
    await expect(compose([thrower], () => {})({ log: [] })).rejects.toThrow('sync failure');
  });

  it('can be run again for another context, with a fresh chain each time', async () => {
    const run = compose([step('m')], (c: Ctx) => {
      c.log.push('h');
    });
    const first: Ctx = { log: [] };
    const second: Ctx = { log: [] };
    await run(first);
    await run(second);
    expect(second.log).toEqual(['m:before', 'h', 'm:after']);
  });
});
