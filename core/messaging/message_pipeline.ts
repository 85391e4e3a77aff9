/**
 * From message to stored jobs: match the topic against the route table, run global,
 * group and route middleware and the handler, and resolve only when every job the
 * handler dispatched is stored. The transport acknowledges the message when `handle`
 * resolves, which gives end-to-end at-least-once. A handler error or invalid payload
 * dead-letters the message (and resolves: retrying a bad message cannot fix it); a
 * storage outage keeps `handle` pending, so the message stays unacknowledged: a dispatch
 * waits for the store, and a route that failed because the store could not serve (a handler
 * reading state while Redis is away) runs again after a backoff. A route may so run more
 * than once for one message (at least once, as a redelivery would).
 */
import { InvalidOptionError, InvalidRouteError, isTopiqError, RateLimitedError } from '../errors.js';
import { MAX_TIMER_MS } from '../support/timers.js';
import type { Logger } from '../logger.js';
import type { DispatchOptions } from '../queue/dispatch_options.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { JobClass } from '../queue/job.js';
import { compose, type Middleware } from '../routing/compose.js';
import type { RouteTable } from '../routing/route_table.js';
import type { RouteMatch, TopicRouter } from '../routing/router.js';
import type { RouteRecord } from '../routing/route_table.js';
import { cutBytes } from '../support/text.js';
import { type DeadLetterStore, MAX_NAME_BYTES, MAX_REASON_BYTES } from './dead_letters.js';
import { DispatchBatcher } from './dispatch_batcher.js';
import { DEFAULT_HANDLER_TIMEOUT_MS, HandlerDeadlines } from './handler_deadline.js';
import { RateLimitedBursts } from './rate_limited_bursts.js';
import type { InboundMessage, Publisher } from './inbound_message.js';
import { type ContextServices, type DispatchedJob, MessageContext } from './message_context.js';
import type { StateStore } from './state_store.js';
import { retryUntilDone } from '../support/retry.js';
import { isRedisUnavailable } from '../queue/drivers/redis/unavailable.js';
import { thrownError } from '../queue/record_failure.js';
import { sampledFailures } from '../support/sampled_failures.js';

/**
 * A controller class and the name of its method that handles the route. `routes.on` checks
 * the name: a method of the controller taking the route's context (`MethodsAccepting`).
 */
export type ControllerReference = readonly [new () => object, string];
/** A route handler: a function of the context, or a controller method reference. */
export type MessageHandler = ((ctx: MessageContext<{}>) => Promise<void> | void) | ControllerReference;
/** The route table of an application. */
export type AppRouteTable = RouteTable<MessageContext<{}>, MessageHandler>;
type Route = RouteRecord<MessageContext<any>, MessageHandler>;

/** What a pipeline is built from. */
export interface PipelineOptions {
  routes: AppRouteTable;
  dispatcher: Dispatcher;
  deadLetters: DeadLetterStore;
  state: StateStore;
  publish: Publisher;
  log: Logger;
  /** Middleware run for every message before group and route middleware. */
  middleware?: readonly Middleware<MessageContext<any>>[];
  /** The prefix `ctx.reply` may answer under (`JOB_COMMAND_REPLY_TOPIC`; default `topiq/replies`). */
  replyTopic?: string;
  /**
   * The longest a message's middleware and handler may run, in ms of their own (waits for
   * stores aside: its dispatches, publishes and state calls, `rateLimit`, `storeWait`), before it is dead-lettered with `E_HANDLER_TIMEOUT`
   * (`MQTT_HANDLER_TIMEOUT_MS`; default {@link DEFAULT_HANDLER_TIMEOUT_MS}; 0 for none).
   */
  handlerTimeoutMs?: number;
}

/** Counters since start. */
export interface PipelineStats {
  received: number;
  handled: number;
  unmatched: number;
  deadLettered: number;
  /**
   * Rate-limited messages acknowledged without being stored: only the first of each key's
   * burst goes to the dead-letter store (see `rate_limited_bursts.ts`).
   */
  rateLimitedDropped: number;
  /**
   * Messages acknowledged without being stored because the dead-letter store refused them for
   * good (a key of another type, say; logged as `message.dead_letter_refused`).
   */
  deadLettersRefused: number;
}

/**
 * How often, at most, one message's dead letter that the store cannot take for now is logged
 * again (`message.dead_letter_failed`) after its first failure: its retries come every few
 * seconds for as long as Redis is away.
 */
export const DEAD_LETTER_FAILED_LOG_MS = 30_000;

/**
 * Routes messages to handlers.
 *
 * @example
 * const pipeline = new MessagePipeline({ routes, dispatcher, deadLetters, state, publish, log });
 * await pipeline.handle({ topic: 'devices/d1/telemetry', payload, qos: 1, retain: false, dup: false, properties: {} });
 */
export class MessagePipeline {
  readonly stats: PipelineStats = {
    received: 0,
    handled: 0,
    unmatched: 0,
    deadLettered: 0,
    rateLimitedDropped: 0,
    deadLettersRefused: 0,
  };
  readonly #bursts = new RateLimitedBursts();
  #closed = false;
  /** Aborted by close(): ends the wait of a route before it runs again. */
  readonly #stopped = new AbortController();
  readonly #droppedSample = sampledFailures();
  readonly #unavailableSample = sampledFailures();
  readonly #options: PipelineOptions;
  readonly #router: TopicRouter<MessageHandler, Route>;
  readonly #batcher: DispatchBatcher;
  readonly #controllers = new Map<new () => object, object>();
  readonly #services: ContextServices;
  readonly #log: Logger;
  /** Undefined when messages have no deadline. */
  readonly #deadlines: HandlerDeadlines | undefined;
  #lastUnmatchedLog = 0;

  constructor(options: PipelineOptions) {
    this.#options = options;
    this.#log = options.log.child({ component: 'messages' });
    const timeoutMs = options.handlerTimeoutMs ?? DEFAULT_HANDLER_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_TIMER_MS) {
      // past a Node timer's longest, it would fire at once, over and over
      throw new InvalidOptionError(
        `handlerTimeoutMs must be a whole number of ms from 0 (no deadline) to ${MAX_TIMER_MS}; got ${String(timeoutMs)}`,
      );
    }
    this.#deadlines = timeoutMs > 0 ? new HandlerDeadlines(timeoutMs) : undefined;
    for (const route of options.routes.routes()) this.#checkHandler(route);
    this.#router = options.routes.buildRouter();
    this.#batcher = new DispatchBatcher((jobs) => options.dispatcher.store(jobs), this.#log);
    this.#services = {
      dispatch: (job, payload, dispatchOptions) => this.#dispatch(job, payload, dispatchOptions),
      publish: options.publish,
      ...(options.replyTopic ? { replyTopic: options.replyTopic } : {}),
      state: options.state,
      log: options.log,
    };
  }

  /** Handles one message; resolves when it may be acknowledged. Never rejects for handler errors. */
  async handle(message: InboundMessage): Promise<void> {
    this.stats.received++;
    const matches = this.#router.match(message.topic);
    if (matches.length === 0) {
      this.#unmatched(message);
      return;
    }
    // what middleware decided about the message holds for every route it matches (see MESSAGE_MEMO)
    const memo = new Map<unknown, unknown>();
    for (const match of matches) await this.#run(message, match, memo);
    this.stats.handled++;
  }

  /** Stops retrying storage: messages still waiting stay unacknowledged. */
  close(): void {
    this.#closed = true;
    this.#stopped.abort();
    this.#batcher.close();
    this.#deadlines?.close();
  }

  /**
   * Runs the route for `message`. A failure because the store could not serve (Redis away,
   * loading, full: a handler or middleware reading state, say) is not the message's fault: the
   * route runs again after a backoff, the message unacknowledged meanwhile, as a dispatch waits
   * out an outage; once the pipeline is closed, the failure is thrown and the message stays
   * unacknowledged. Any other failure dead-letters it.
   */
  async #run(
    message: InboundMessage,
    match: RouteMatch<MessageHandler, Route>,
    memo: Map<unknown, unknown>,
  ): Promise<void> {
    const route = match.meta.pattern;
    let failures = 0;
    try {
      await retryUntilDone(
        async () => {
          const failed = await this.#attempt(message, match, memo);
          if (failed) throw failed.reason;
        },
        {
          // closing aborts the wait, and the failure is thrown: the message stays unacknowledged
          signal: this.#stopped.signal,
          giveUp: (error) => !isRedisUnavailable(error),
          onError: (error, retryInMs) => {
            failures++;
            const waiting = this.#unavailableSample();
            if (waiting === undefined) return;
            this.#log.warn(
              {
                event: 'message.store_unavailable',
                topic: message.topic,
                route,
                err: error,
                retryInMs,
                failures: waiting,
              },
              'the route could not reach the store; the message waits, unacknowledged, and runs again (logged for the 1st and every 1,000th)',
            );
          },
        },
      );
    } catch (error) {
      if (isRedisUnavailable(error)) throw error;
      await this.#deadLetter(message, route, error);
      return;
    }
    // the store serves again: the next outage is logged from its first failure
    if (failures > 0) this.#unavailableSample.reset();
  }

  /** One run of the route; resolves with its failure, if any. */
  async #attempt(
    message: InboundMessage,
    match: RouteMatch<MessageHandler, Route>,
    memo: Map<unknown, unknown>,
  ): Promise<{ reason: unknown } | undefined> {
    const route = match.meta;
    const ctx = new MessageContext(message, match.params, route.pattern, this.#services, memo);
    const chain = compose(
      [...(this.#options.middleware ?? []), ...route.middleware],
      (c) => this.#invoke(route.handler, c),
      {
        onLateNext: (error) =>
          this.#log.error(
            {
              event: 'message.next_called_late',
              code: error.code,
              topic: message.topic,
              route: route.pattern,
            },
            error.message,
          ),
      },
    );
    try {
      const run = chain(ctx);
      await (this.#deadlines ? this.#deadlines.watch(run, ctx) : run);
      await ctx.settled();
      return undefined;
    } catch (error) {
      await ctx.settled().catch(() => {});
      return { reason: error };
    }
  }

  #invoke(handler: MessageHandler, ctx: MessageContext<any>): Promise<void> | void {
    if (typeof handler === 'function') return handler(ctx);
    const [Controller, method] = handler;
    let controller = this.#controllers.get(Controller);
    if (!controller) {
      controller = new Controller();
      this.#controllers.set(Controller, controller);
    }
    return (controller as Record<string, (ctx: MessageContext<any>) => Promise<void> | void>)[method]!(ctx);
  }

  async #dispatch(
    job: JobClass,
    payload: unknown,
    options: DispatchOptions | undefined,
  ): Promise<DispatchedJob> {
    const stored = this.#options.dispatcher.build({ job, payload: payload as never, options });
    return { id: stored.id, outcome: await this.#batcher.add(stored) };
  }

  /**
   * Stores `message` as a dead letter for `error`. A store that cannot serve for now (Redis
   * away, loading, out of memory: {@link isRedisUnavailable}) is tried again with backoff, the
   * message unacknowledged meanwhile, until it serves or the pipeline closes (then `handle`
   * rejects, and the message stays unacknowledged). A store that refuses the entry (a key of
   * another type, say) would refuse it forever and hold every acknowledgement behind it: that
   * is logged as `message.dead_letter_refused` with the reason, counted, and the message
   * acknowledged. A wait is logged at its first failure, then at most every
   * {@link DEAD_LETTER_FAILED_LOG_MS} with how many tries failed; the line ending it (stored,
   * refused or abandoned) says how many too.
   */
  async #deadLetter(message: InboundMessage, route: string, error: unknown): Promise<void> {
    // never throws: a handler may throw anything (an object without a prototype, an Error
    // whose message getter throws), and the message must still be dead-lettered
    let reason = thrownError(error).message;
    const code = isTopiqError(error) ? error.code : undefined;
    if (error instanceof RateLimitedError && error.key !== undefined) {
      // per limit: a second limit on the route refusing the same device starts a burst of its own
      const burstKey = `${route}\n${error.limit ?? ''}\n${error.key}`;
      const burst = this.#bursts.refused(burstKey, error.retryAfterMs, Date.now());
      if (!burst.store) {
        this.stats.rateLimitedDropped++;
        const dropped = this.#droppedSample();
        if (dropped !== undefined) {
          this.#log.warn(
            {
              event: 'message.rate_limited_dropped',
              topic: message.topic,
              route,
              rateLimitedDropped: dropped,
            },
            'rate-limited message acknowledged without being stored (the first of its burst was; logged for the 1st and every 1,000th)',
          );
        }
        return;
      }
      if (burst.leftOut > 0) {
        reason += ` (${burst.leftOut} more of its messages were refused since the last one stored, and not stored)`;
      }
    }
    // as the entry holds them: a reason quoting a 1 MiB payload is not logged whole
    const fields = {
      topic: cutBytes(message.topic, MAX_NAME_BYTES),
      route,
      code,
      reason: cutBytes(reason, MAX_REASON_BYTES),
      clientId: message.clientId === undefined ? undefined : cutBytes(message.clientId, MAX_NAME_BYTES),
    };
    // tries that failed for now; the last time one was logged
    let failures = 0;
    let loggedAt = Number.NEGATIVE_INFINITY;
    const failed = () => (failures > 0 ? { failures } : {});
    try {
      // cut once, for the log line and the entry alike (the store's own cut then finds them short)
      const entry = { ...message, ...fields };
      await retryUntilDone(() => this.#options.deadLetters.add(entry), {
        // closing (close() aborts this signal) also ends a wait in progress; the message stays
        // unacknowledged
        signal: this.#stopped.signal,
        giveUp: (err) => !isRedisUnavailable(err),
        onError: (err, retryInMs) => {
          failures++;
          const now = Date.now();
          if (now - loggedAt < DEAD_LETTER_FAILED_LOG_MS) return;
          loggedAt = now;
          this.#log.error(
            { event: 'message.dead_letter_failed', ...fields, err, retryInMs, failures },
            `could not store dead letter: the store cannot serve for now; holding the message unacknowledged and retrying (logged at the first failure, then at most every ${DEAD_LETTER_FAILED_LOG_MS / 1000} s; failures counts all)`,
          );
        },
      });
    } catch (err) {
      if (this.#closed || isRedisUnavailable(err)) {
        this.#log.warn(
          { event: 'message.dead_letter_abandoned', ...fields, err, ...failed() },
          'message could not be handled, nor stored as a dead letter before the app stopped; left unacknowledged',
        );
        throw err;
      }
      this.stats.deadLettersRefused++;
      this.#log.error(
        { event: 'message.dead_letter_refused', ...fields, err, ...failed() },
        'message could not be handled, and the dead-letter store refused it (see err); acknowledged without being stored',
      );
      return;
    }
    this.stats.deadLettered++;
    this.#log.warn(
      { event: 'message.dead_lettered', ...fields, ...failed() },
      'message could not be handled; sent to the dead-letter store',
    );
  }

  #unmatched(message: InboundMessage): void {
    this.stats.unmatched++;
    const now = Date.now();
    if (now - this.#lastUnmatchedLog >= 10_000) {
      this.#lastUnmatchedLog = now;
      this.#log.warn(
        { event: 'message.unmatched', topic: message.topic, unmatchedTotal: this.stats.unmatched },
        'no route matches this topic (logged at most every 10 s; unmatchedTotal counts all)',
      );
    }
  }

  #checkHandler(route: Route): void {
    const { handler } = route;
    if (typeof handler === 'function') return;
    const [Controller, method] = handler;
    // the constructor, and what every object has (`toString`, `valueOf`) unless the controller
    // has its own, are no handlers: each message would be handled by nothing (or fail)
    const everyObjects = (Object.prototype as unknown as Record<string, unknown>)[method];
    const isHandler = (fn: unknown) =>
      method !== 'constructor' && typeof fn === 'function' && fn !== everyObjects;
    const prototype = (Controller as { prototype?: Record<string, unknown> }).prototype;
    if (isHandler(prototype?.[method])) return;
    // a function set by the constructor (an arrow-function property): built now, as the first
    // message would build it, and kept for the messages
    let controller = this.#controllers.get(Controller);
    if (!controller) {
      controller = new Controller();
      this.#controllers.set(Controller, controller);
    }
    const fn = (controller as Record<string, unknown>)[method];
    if (isHandler(fn)) return;
    throw new InvalidRouteError(
      `route ${route.pattern}: ${route.handlerName} is not a method of ${Controller.name || 'the controller'}` +
        (typeof fn === 'function'
          ? ' (the constructor and the methods every object has are no handlers)'
          : ''),
    );
  }
}
