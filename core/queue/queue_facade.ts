/**
 * `Queue`: where static `SomeJob.dispatch()` finds its dispatcher. The application binds
 * its dispatcher at boot (`bootstrap/app.ts`); tests swap in `QueueFake.install()` (core/testing). This is the
 * one process-wide binding in Topiq, kept because `SomeJob.dispatch()` is the API users
 * expect from Laravel; code that holds an application can call `app.dispatcher` directly.
 */
import { QueueNotBoundError } from '../errors.js';
import type { Dispatcher } from './dispatcher.js';

let bound: Dispatcher | undefined;

export const Queue = {
  /** Makes `dispatcher` the target of static `dispatch()` calls. Returns the previous one. */
  bind(dispatcher: Dispatcher | undefined): Dispatcher | undefined {
    const previous = bound;
    bound = dispatcher;
    return previous;
  },

  /** Unbinds `dispatcher` if it is the bound one. */
  unbind(dispatcher: Dispatcher): void {
    if (bound === dispatcher) bound = undefined;
  },

  /** The bound dispatcher; throws `E_QUEUE_NOT_BOUND` before an application booted. */
  dispatcher(): Dispatcher {
    if (!bound) {
      throw new QueueNotBoundError(
        'no dispatcher is bound: boot the application first (createApplication() in bootstrap/app.ts), ' +
          'or call QueueFake.install() in tests',
      );
    }
    return bound;
  },
};
