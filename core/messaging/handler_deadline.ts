/**
 * The deadline of a route's middleware and handler for one message. Acknowledgements go out in
 * the order messages came, so one handler that never settles (a `fetch` without a timeout, a
 * lock never released) would hold back every later acknowledgement and, once
 * `MQTT_MAX_IN_FLIGHT` messages wait, stop all ingest without a word. Past the deadline the
 * message is given up: `ctx.signal` fires, the run fails with `E_HANDLER_TIMEOUT` (the pipeline
 * dead-letters and acknowledges it), and what the handler still tries to dispatch or publish is
 * refused. Time spent waiting for a store does not count (the message's dispatches, publishes
 * and state calls, `rateLimit`'s count, and what middleware marks with `storeWait`): they wait
 * out a Redis or broker outage, which must never dead-letter a message.
 *
 * One timer serves every message (a timer each cost 1.7 µs a message, as much as routing one):
 * the runs are kept in the order they started, and the timer is set for the oldest.
 */
import { HandlerTimeoutError } from '../errors.js';
import { HANDLER_DEADLINE, type MessageContext, shownTopic } from './message_context.js';

/** The default deadline, in ms (`MQTT_HANDLER_TIMEOUT_MS`). */
export const DEFAULT_HANDLER_TIMEOUT_MS = 30_000;

/** How often a run waiting for a store is looked at again (its wait may end any time). */
const RECHECK_MS = 250;

interface Run {
  readonly ctx: MessageContext<any>;
  /** `performance.now()` when it started. */
  readonly started: number;
  readonly reject: (error: Error) => void;
}

/** The runs of one pipeline under one deadline. */
export class HandlerDeadlines {
  readonly #timeoutMs: number;
  /** In the order they started (a Set keeps insertion order). */
  readonly #runs = new Set<Run>();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @param timeoutMs - ms of a run's own time (its waits for stores aside), 1 to 2147483647 (a Node timer) */
  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
  }

  /** Stops giving runs up: the pipeline is closing, and a message left now stays unacknowledged. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * `run` (the chain of one message), rejected with `E_HANDLER_TIMEOUT` once it has taken more
   * than the deadline of its own. A rejection of `run` after that is handled here, and dropped.
   */
  watch(run: Promise<void>, ctx: MessageContext<any>): Promise<void> {
    return new Promise((resolve, reject) => {
      const entry: Run = { ctx, started: performance.now(), reject };
      this.#runs.add(entry);
      if (!this.#closed) this.#timer ??= setTimeout(() => this.#check(), this.#timeoutMs).unref();
      run.then(
        () => {
          this.#runs.delete(entry);
          resolve();
        },
        (error: unknown) => {
          this.#runs.delete(entry);
          reject(error);
        },
      );
    });
  }

  /** Gives up the runs past the deadline, and sets the timer for the next one due. */
  #check(): void {
    this.#timer = undefined;
    const now = performance.now();
    // ms until a run may be due: exact for one not due yet (a timer may fire a little early),
    // RECHECK_MS for one waiting for a store (its wait may end any time)
    let next = Number.POSITIVE_INFINITY;
    for (const entry of this.#runs) {
      const elapsed = now - entry.started;
      if (elapsed < this.#timeoutMs) {
        // this one and every later one started too recently to be past it
        next = Math.min(next, this.#timeoutMs - elapsed);
        break;
      }
      const hooks = entry.ctx[HANDLER_DEADLINE];
      if (hooks.waiting) {
        next = Math.min(next, RECHECK_MS);
        continue;
      }
      const used = elapsed - hooks.waitedMs(now);
      if (used < this.#timeoutMs) {
        next = Math.min(next, this.#timeoutMs - used);
        continue;
      }
      this.#runs.delete(entry);
      const error = new HandlerTimeoutError(
        `route ${entry.ctx.route} ran past ${this.#timeoutMs} ms for the message on ${shownTopic(entry.ctx.topic)} ` +
          '(MQTT_HANDLER_TIMEOUT_MS): it was given up and dead-lettered, and its handler, which may ' +
          'still run, can no longer dispatch or publish; give what it awaits a timeout (ctx.signal ' +
          'fires now), or raise MQTT_HANDLER_TIMEOUT_MS',
      );
      hooks.giveUp(error);
      entry.reject(error);
    }
    if (this.#runs.size > 0 && !this.#closed && Number.isFinite(next)) {
      this.#timer = setTimeout(() => this.#check(), Math.max(1, Math.ceil(next))).unref();
    }
  }
}
