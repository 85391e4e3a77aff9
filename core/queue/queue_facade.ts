/**
 * `Queue`: where static `SomeJob.dispatch()` finds its dispatcher. The application binds
 * its dispatcher at boot (`bootstrap/app.ts`); tests swap in `QueueFake.install()` (core/testing). This is the
 * one process-wide binding in Topiq, kept because `SomeJob.dispatch()` is the API users
 * expect from Laravel; code that holds an application can call `app.dispatcher` directly.
 */
import { QueueNotBoundError } from '../errors.js';
import type { Dispatcher } from './dispatcher.js';

/** Bound dispatchers, the latest last: the last is the target of static `dispatch()` calls. */
const bindings: Dispatcher[] = [];

export const Queue = {
  /**
   * Makes `dispatcher` the target of static `dispatch()` calls until it is unbound; the one
   * bound before it is the target again then. Binding one that is bound already moves it last.
   */
  bind(dispatcher: Dispatcher): void {
    Queue.unbind(dispatcher);
    bindings.push(dispatcher);
  },

  /**
   * Unbinds `dispatcher` wherever it is in the order, so the latest bound of the rest is the
   * target: an application closed while a `QueueFake` installed after it is bound leaves the
   * fake bound, and a fake restored after the application closed does not bind it back.
   */
  unbind(dispatcher: Dispatcher): void {
    const index = bindings.lastIndexOf(dispatcher);
    if (index >= 0) bindings.splice(index, 1);
  },

  /** The bound dispatcher; throws `E_QUEUE_NOT_BOUND` before an application booted. */
  dispatcher(): Dispatcher {
    const bound = bindings[bindings.length - 1];
    if (!bound) {
      throw new QueueNotBoundError(
        'no dispatcher is bound: boot the application first (createApplication() in bootstrap/app.ts), ' +
          'or call QueueFake.install() in tests',
      );
    }
    return bound;
  },
};
