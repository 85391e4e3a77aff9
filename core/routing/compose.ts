/**
 * Middleware composition, onion style (Koa, Hono): each middleware gets the context and
 * a `next` that runs the rest of the chain, so it can act before and after it.
 */
import { NextCalledLateError, NextCalledTwiceError } from '../errors.js';

/**
 * A step run before a route's handler. Not calling `next()` stops the chain there. Await
 * `next()`: its error is thrown there, for the middleware to see (to log it, say). The chain is
 * waited for before the message settles in any case, and an error of it fails the message
 * whatever the middleware did with it; a `next()` called after the middleware returned runs
 * nothing and is reported (`E_NEXT_CALLED_LATE`).
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
 * A promise chained on `next()`'s, at any depth (its species is this class): none of them is an
 * unhandled rejection, since compose fails the message with the chain's error itself, so a
 * middleware's unawaited `next().finally(...)` cannot end the process.
 */
class ChainedOnChain<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return ChainedOnChain as PromiseConstructor;
  }

  // biome-ignore lint/suspicious/noThenProperty: a promise's own then, overridden to follow it
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const derived = super.then(onFulfilled, onRejected);
    passOnQuietly(derived);
    return derived;
  }
}

/** The promise `next()` returns: the rest of the chain, and how it ended. */
class Chain extends ChainedOnChain<void> {
  settled = false;
  /** Its error, once it rejected. */
  failure: { error: unknown } | undefined;
}

/**
 * Marks `derived` handled. Not only for the chain's own error: a reaction that threw any other
 * reason again would be an unhandled rejection of its own, even where the middleware handles
 * `derived` (`await next().catch(wrap)`), and would end the process. So an error the middleware
 * makes in a callback on `next()` and never awaits or catches is dropped, as a caught one is.
 */
function passOnQuietly(derived: Promise<unknown>): void {
  Promise.prototype.then.call(derived, undefined, ignore);
}

function ignore(): void {}

/** What runs after the last middleware calls `next()`. */
export type FinalHandler<C> = (ctx: C) => Promise<void> | void;

/** Options of {@link compose}. */
export interface ComposeOptions {
  /** Told of a `next()` called after its middleware returned (it runs nothing): log it. */
  onLateNext?: (error: NextCalledLateError) => void;
}

/**
 * Chains middleware in array order around a final handler. The returned function runs
 * the whole chain for one context; an error thrown anywhere rejects its promise: a
 * middleware's own, else the first error of a chain one started (even one it caught, since
 * the message it carries failed), once every chain started has settled.
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
      const chains: Chain[] = [];
      let returned = false;
      const next = (): Promise<void> => {
        if (returned) {
          // the message is settled: nothing to run, and nothing for the caller to fail on
          options.onLateNext?.(
            new NextCalledLateError(
              `Middleware "${name}" (position ${index}) called next() after it had returned, so the message was settled without the rest of its chain; call next() before returning and await it.`,
            ),
          );
          return Promise.resolve();
        }
        const chain = new Chain((resolve, reject) => {
          dispatch(index + 1).then(resolve, reject);
        });
        // first of its reactions: the failure is known before any the middleware adds runs
        Promise.prototype.then.call(
          chain,
          () => {
            chain.settled = true;
          },
          (error: unknown) => {
            chain.settled = true;
            chain.failure = { error };
          },
        );
        chains.push(chain);
        return chain;
      };
      let failure: { error: unknown } | undefined;
      try {
        await middleware[index]!(ctx, next);
      } catch (error) {
        failure = { error };
      }
      returned = true;
      // Every chain is waited for, whatever the middleware did, so the message is acknowledged
      // or dead-lettered only once the jobs of its handler are stored; and a chain's error fails
      // the message even if the middleware caught it, or never looked.
      for (const chain of chains) {
        if (!chain.settled) await Promise.prototype.then.call(chain, ignore, ignore);
      }
      if (failure) throw failure.error;
      const failed = chains.find((chain) => chain.failure);
      if (failed?.failure) throw failed.failure.error;
    };
    return dispatch(0);
  };
}
