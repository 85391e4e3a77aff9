/**
 * Middleware composition, onion style (Koa, Hono): each middleware gets the context and
 * a `next` that runs the rest of the chain, so it can act before and after it.
 */
import { NextCalledTwiceError } from '../errors.js';

/**
 * A step run before a route's handler. Not calling `next()` stops the chain there. Await
 * `next()`: a chain still running when the middleware returns is waited for, and its error
 * fails the message, but one that failed before then, unawaited, is not seen.
 *
 * @example
 * const timing: Middleware<{ log: (s: string) => void }> = async (ctx, next) => {
 *   const started = Date.now();
 *   await next();
 *   ctx.log(`took ${Date.now() - started} ms`);
 * };
 */
export type Middleware<C> = (ctx: C, next: () => Promise<void>) => Promise<void> | void;

/** What runs after the last middleware calls `next()`. */
export type FinalHandler<C> = (ctx: C) => Promise<void> | void;

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
      let downstream: Promise<void> | undefined;
      let settled = false;
      await middleware[index]!(ctx, () => {
        downstream = dispatch(index + 1);
        // before any await of the middleware's: it sees the outcome after this flag is set
        downstream.then(
          () => {
            settled = true;
          },
          () => {
            settled = true;
          },
        );
        return downstream;
      });
      // A middleware that called next() without awaiting it returned before the rest of the
      // chain ended: wait for that too, so the message is acknowledged only once its jobs are
      // stored, and let its error fail the chain instead of going unhandled (which ends a
      // Node process). A chain that had ended was the middleware's to await, and any error
      // of it the middleware's to handle or swallow.
      if (downstream && !settled) await downstream;
    };
    return dispatch(0);
  };
}
