/**
 * Middleware composition, onion style (Koa, Hono): each middleware gets the context and
 * a `next` that runs the rest of the chain, so it can act before and after it.
 */
import { NextCalledLateError, NextCalledTwiceError } from '../errors.js';

/**
 * A step run before a route's handler. Not calling `next()` stops the chain there. Await
 * `next()`: a chain the middleware did not await is waited for once it returns, and its error
 * fails the message; `next()` called after the middleware returned rejects with
 * `E_NEXT_CALLED_LATE` and runs nothing.
 *
 * @example
 * const timing: Middleware<{ log: (s: string) => void }> = async (ctx, next) => {
 *   const started = Date.now();
 *   await next();
 *   ctx.log(`took ${Date.now() - started} ms`);
 * };
 */
export type Middleware<C> = (ctx: C, next: () => Promise<void>) => Promise<void> | void;

/**
 * The promise `next()` returns, which tells whether the middleware looked at it: `await`,
 * `then`, `catch` and `finally` all call `then` on a promise of a subclass (a plain promise is
 * awaited without calling it). Promises derived from it are plain.
 */
class WatchedChain extends Promise<void> {
  static override get [Symbol.species](): PromiseConstructor {
    return Promise;
  }

  seen = false;

  // biome-ignore lint/suspicious/noThenProperty: a promise's own then, overridden to see it used
  override then<A = void, B = never>(
    onFulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.seen = true;
    return super.then(onFulfilled, onRejected);
  }
}

/** What runs after the last middleware calls `next()`. */
export type FinalHandler<C> = (ctx: C) => Promise<void> | void;

/** Options of {@link compose}. */
export interface ComposeOptions {
  /** Told of a `next()` called after its middleware returned (it runs nothing): log it. */
  onLateNext?: (error: NextCalledLateError) => void;
}

/**
 * Chains middleware in array order around a final handler. The returned function runs
 * the whole chain for one context; an error thrown anywhere rejects its promise.
 *
 * @throws NextCalledTwiceError (as a rejection) when a middleware calls `next()` twice.
 * @example
 * const run = compose([auth, timing], async (ctx) => handle(ctx));
 * await run(ctx);
 */
export function compose<C>(
  middleware: readonly Middleware<C>[],
  final: FinalHandler<C>,
  options: ComposeOptions = {},
): (ctx: C) => Promise<void> {
  return (ctx) => {
    let reached = -1;
    const dispatch = async (index: number): Promise<void> => {
      if (index <= reached) {
        const name = middleware[index - 1]?.name || 'anonymous';
        throw new NextCalledTwiceError(
          `Middleware "${name}" (position ${index - 1}) called next() more than once; call it once and await it.`,
        );
      }
      reached = index;
      if (index === middleware.length) return final(ctx);
      const name = middleware[index]!.name || 'anonymous';
      let downstream: WatchedChain | undefined;
      let returned = false;
      const next = (): Promise<void> => {
        if (returned) {
          const error = new NextCalledLateError(
            `Middleware "${name}" (position ${index}) called next() after it had returned, so the message was settled without the rest of its chain; call next() before returning and await it.`,
          );
          options.onLateNext?.(error);
          const late = Promise.reject(error);
          late.catch(() => {}); // reported above: a timer's forgotten next() must not end the process
          return late;
        }
        downstream = new WatchedChain((resolve, reject) => {
          dispatch(index + 1).then(resolve, reject);
        });
        // handled here without marking it seen, so a failure before it is looked at is not an
        // unhandled rejection (which ends a Node process), and is still thrown below
        Promise.prototype.then.call(downstream, undefined, () => {});
        return downstream;
      };
      try {
        await middleware[index]!(ctx, next);
      } finally {
        returned = true;
      }
      // The chain is waited for in any case, so the message is acknowledged only once its jobs
      // are stored. A middleware that awaited next() (or chained on it) saw its outcome, and may
      // have handled or swallowed its error; the error of a chain it did not look at fails the message.
      if (downstream?.seen) await Promise.prototype.then.call(downstream, undefined, () => {});
      else if (downstream) await downstream;
    };
    return dispatch(0);
  };
}
