/**
 * Middleware composition, onion style (Koa, Hono): each middleware gets the context and
 * a `next` that runs the rest of the chain, so it can act before and after it.
 */
import { NextCalledLateError, NextCalledTwiceError } from '../errors.js';

/**
 * A step run before a route's handler. Not calling `next()` stops the chain there. Await
 * `next()`. The chain is waited for before the message settles in any case, and its error fails
 * the message unless the middleware awaited it (and so could catch it); a `next()` called after
 * the middleware returned runs nothing and is reported (`E_NEXT_CALLED_LATE`).
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
 * The promise `next()` returns, which keeps the promises a middleware chained on it (`await`,
 * `then`, `catch`, `finally` all call `then` on a promise of a subclass; a plain promise is
 * awaited without calling it). A chain's error is handled when one of them did not end in that
 * same error: `await` (its caller may catch) or a `catch` that did not rethrow. One ending in
 * the chain's error (`finally`, `then` without a rejection handler) is not an unhandled
 * rejection: compose reports that error itself. Derived promises are plain.
 */
class WatchedChain extends Promise<void> {
  static override get [Symbol.species](): PromiseConstructor {
    return ChainedOnChain as PromiseConstructor;
  }

  settled = false;
  /** Its error, once it rejected. */
  failure: { error: unknown } | undefined;
  readonly derived: Promise<unknown>[] = [];

  // biome-ignore lint/suspicious/noThenProperty: a promise's own then, overridden to see it used
  override then<A = void, B = never>(
    onFulfilled?: ((value: void) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const derived = super.then(onFulfilled, onRejected);
    this.derived.push(derived);
    passOnQuietly(derived, this);
    return derived;
  }

  /** Waits for what was chained on it, and tells whether one of those took its error. */
  async errorTaken(): Promise<boolean> {
    const error = this.failure?.error;
    const taken = await Promise.all(
      this.derived.map(
        (derived) =>
          Promise.prototype.then.call(
            derived,
            () => true,
            (reason: unknown) => reason !== error,
          ) as Promise<boolean>,
      ),
    );
    return taken.includes(true);
  }
}

/**
 * A promise chained on a chain's promise, at any depth: its rejection with the chain's own error
 * is compose's to report, not an unhandled one (`next().then(f).then(g)` left unawaited would
 * otherwise end the process); any other reason is left loud.
 */
class ChainedOnChain<T> extends Promise<T> {
  static override get [Symbol.species](): PromiseConstructor {
    return ChainedOnChain as PromiseConstructor;
  }

  root: WatchedChain | undefined;

  // biome-ignore lint/suspicious/noThenProperty: a promise's own then, overridden to follow it
  override then<A = T, B = never>(
    onFulfilled?: ((value: T) => A | PromiseLike<A>) | null,
    onRejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    const derived = super.then(onFulfilled, onRejected);
    if (this.root) passOnQuietly(derived, this.root);
    return derived;
  }
}

function passOnQuietly(derived: Promise<unknown>, root: WatchedChain): void {
  if (derived instanceof ChainedOnChain) derived.root = root;
  Promise.prototype.then.call(derived, undefined, (reason: unknown) => {
    if (reason !== root.failure?.error) throw reason;
  });
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
      const chains: WatchedChain[] = [];
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
        const chain = new WatchedChain((resolve, reject) => {
          dispatch(index + 1).then(resolve, reject);
        });
        // first of its reactions, and not one that counts as the middleware looking at it
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
      let unhandled: { error: unknown } | undefined;
      for (const chain of chains) {
        // Every chain is waited for, whatever happened, so the message is acknowledged, or
        // dead-lettered, only once the jobs of its handler are stored.
        if (!chain.settled) await Promise.prototype.then.call(chain, ignore, ignore);
        // its error fails the message unless the middleware took it (awaited, or caught it)
        if (chain.failure && !unhandled && !(await chain.errorTaken())) unhandled = chain.failure;
      }
      if (failure) throw failure.error;
      if (unhandled) throw unhandled.error;
    };
    return dispatch(0);
  };
}
