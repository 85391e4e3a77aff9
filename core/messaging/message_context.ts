/**
 * What a route's middleware and handler get for one message: topic, params, payload
 * (raw and parsed), MQTT properties, a logger bound to the message, and the ways to act
 * on it: `dispatch` a job (batched with other messages' jobs), `reply` (MQTT 5
 * request/response), `publish`, and `state` shared between messages.
 */
import { isUtf8 } from 'node:buffer';
import { InvalidMessageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MqttMessageProperties } from '../mqtt/mqtt_message.js';
import type { DispatchOptions } from '../queue/dispatch_options.js';
import type { PushOutcome } from '../queue/driver.js';
import type { JsonObject } from '../queue/json.js';
import type { DispatchPayload, JobClass } from '../queue/job.js';
import type { RouteParams } from '../routing/router.js';
import type { InboundMessage, Publisher } from './inbound_message.js';
import { DEFAULT_REPLY_TOPIC, isReplyTopic, replyTopicRefusal } from './reply_topic.js';
import type { StateStore } from './state_store.js';
import { truncate } from '../support/text.js';

/** A job a handler dispatched, once stored: its id, and what storing it did. */
export interface DispatchedJob {
  readonly id: string;
  /** `duplicate` when a job with the `jobId` given exists already, and nothing was added. */
  readonly outcome: PushOutcome;
}

/** What a context needs from the pipeline that made it. */
export interface ContextServices {
  dispatch(job: JobClass, payload: unknown, options: DispatchOptions | undefined): Promise<DispatchedJob>;
  publish: Publisher;
  state: StateStore;
  log: Logger;
  /** The prefix replies must go under (`JOB_COMMAND_REPLY_TOPIC`; default `topiq/replies`). */
  replyTopic?: string;
}

/**
 * One message on its way through middleware to a handler.
 *
 * @example
 * export async function storeTelemetry(ctx: MessageContext<{ deviceId: string }>) {
 *   const reading = ctx.json as { temperature: number };
 *   await ctx.dispatch(ProcessSensorDataJob, { deviceId: ctx.params.deviceId, ...reading });
 * }
 */
/**
 * Where middleware keeps what it decided about one message, across the routes the message
 * matches and the runs again of a route after a store outage (`rateLimit` counts a message
 * once per budget): one map per message, keyed by whatever the middleware chooses.
 */
export const MESSAGE_MEMO: unique symbol = Symbol('topiq.messageMemo');

/** Where the pipeline's handler deadline reads a context's waits and gives it up (handler_deadline.ts). */
export const HANDLER_DEADLINE: unique symbol = Symbol('topiq.handlerDeadline');

/**
 * Counts a promise as a wait of the message for a store (Redis): its time is not the handler's
 * own, which the handler deadline bounds. Middleware that calls Redis (`rateLimit`) uses it
 * through {@link storeWait}.
 */
export const STORE_WAIT: unique symbol = Symbol('topiq.storeWait');

/**
 * `work`, counted as a wait of `ctx`'s message for a store: a Redis that stops answering does
 * not run the handler past its deadline (`MQTT_HANDLER_TIMEOUT_MS`) and dead-letter it.
 *
 * @example
 * const allowed = await storeWait(ctx, limiter.hit(key, limit, windowMs));
 */
export function storeWait<T>(ctx: MessageContext<any>, work: Promise<T>): Promise<T> {
  return ctx[STORE_WAIT](work);
}

/** A context's handling of one state call (see `ContextState`). */
const STATE_CALL: unique symbol = Symbol('topiq.stateCall');
/** A context's refusal of what its handler does after the message was given up, if it was. */
const REFUSAL: unique symbol = Symbol('topiq.refusal');
/** The error a message was given up with (`requestLogger` reads it). */
export const GIVEN_UP: unique symbol = Symbol('topiq.givenUp');

/** What {@link HANDLER_DEADLINE} gives. */
export interface DeadlineHooks {
  /** Whether a store is being waited for now (a dispatch, publish, state call or `storeWait`). */
  readonly waiting: boolean;
  /** Ms spent waiting for stores (one wait at least in flight), up to `now` (`performance.now()`). */
  waitedMs(now: number): number;
  /** Gives the message up: fires {@link MessageContext.signal} with `error`, and refuses dispatches, publishes and state merges after. */
  giveUp(error: Error): void;
}

/**
 * A topic as an error message names it: cut to 200 characters, so that a long one (a device id
 * of thousands) does not push the reason out of a dead letter's cut-short text.
 */
export function shownTopic(topic: string): string {
  return truncate(topic, 200);
}

export class MessageContext<P extends RouteParams = RouteParams> {
  readonly topic: string;
  readonly params: P;
  /** The raw payload bytes. */
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  readonly dup: boolean;
  readonly properties: MqttMessageProperties;
  /** The authenticated device that published this (embedded broker), else undefined. */
  readonly deviceId: string | undefined;
  readonly clientId: string | undefined;
  /** The pattern of the route handling this message. */
  readonly route: string;
  readonly log: Logger;
  /** Scratch space for middleware to pass values on (e.g. the validated `body`). */
  readonly locals: Record<string, unknown> = Object.create(null);
  /** The payload after validation middleware, or undefined when no schema ran. */
  body: unknown;
  readonly #services: ContextServices;
  readonly #pending: Promise<unknown>[] = [];
  #json: { value: unknown } | undefined;
  /** The first dispatch or state write of the handler that failed. */
  #failure: { error: unknown } | undefined;
  /** Waits for stores in flight; since when one was (`performance.now()`); ms waited before. */
  #inFlight = 0;
  #waitingSince = 0;
  #waited = 0;
  #abort: AbortController | undefined;
  #givenUp: Error | undefined;
  #state: StateStore | undefined;

  /** See {@link MESSAGE_MEMO}. */
  readonly [MESSAGE_MEMO]: Map<unknown, unknown>;

  constructor(
    message: InboundMessage,
    params: P,
    route: string,
    services: ContextServices,
    memo: Map<unknown, unknown> = new Map(),
  ) {
    this[MESSAGE_MEMO] = memo;
    this.topic = message.topic;
    this.params = params;
    this.payload = message.payload;
    this.qos = message.qos;
    this.retain = message.retain;
    this.dup = message.dup;
    this.properties = message.properties;
    this.deviceId = message.deviceId;
    this.clientId = message.clientId;
    this.route = route;
    this.#services = services;
    this.log = services.log.child({ topic: message.topic, route });
  }

  /**
   * Fires when the message is given up: its middleware and handler ran past
   * `MQTT_HANDLER_TIMEOUT_MS` (the reason is an `E_HANDLER_TIMEOUT` error). The message is then
   * dead-lettered and acknowledged, and later dispatches, publishes and state merges of its
   * handler are refused with that error; pass the signal to what the handler awaits, so it stops.
   *
   * @example
   * const response = await fetch(url, { signal: ctx.signal });
   */
  get signal(): AbortSignal {
    if (!this.#abort) {
      this.#abort = new AbortController();
      if (this.#givenUp) this.#abort.abort(this.#givenUp);
    }
    return this.#abort.signal;
  }

  /**
   * The state store, shared between messages: `merge(namespace, id, fields)`, `get`, `all`. The
   * message is acknowledged once its handler's state calls are done, awaited or not; a merge
   * that fails fails the message as a failed dispatch does (run again when Redis could not
   * serve, else dead-lettered). Its calls are waits for the store, not the handler's own time
   * (see {@link MessageContext.signal}), and a merge after the message was given up is refused.
   */
  get state(): StateStore {
    this.#state ??= new ContextState(this, this.#services.state);
    return this.#state;
  }

  /** See {@link STORE_WAIT}. */
  [STORE_WAIT]<T>(work: Promise<T>): Promise<T> {
    const done = this.#waitFor();
    Promise.resolve(work).then(done, done);
    return work;
  }

  /** A state call of the handler (see {@link MessageContext.state}); `write` for a merge. */
  [STATE_CALL]<T>(work: Promise<T>, write: boolean): Promise<T> {
    return this.#track(work, write ? MessageContext.#failed : undefined);
  }

  /** Records the first dispatch or state merge of `ctx` that failed, which `settled()` throws. */
  static #failed(ctx: MessageContext<any>, error: unknown): void {
    ctx.#failure ??= { error };
  }

  /**
   * `work`, started by the handler: a wait for a store (see {@link DeadlineHooks.waitedMs}) until
   * it settles, and waited for by `settled()`, awaited or not; `onError` hears its failure.
   */
  #track<T>(work: Promise<T>, onError?: (ctx: MessageContext<any>, error: unknown) => void): Promise<T> {
    const done = this.#waitFor();
    this.#pending.push(
      Promise.resolve(work).then(done, (error: unknown) => {
        done();
        onError?.(this, error);
      }),
    );
    return work;
  }

  /** See {@link REFUSAL}. */
  [REFUSAL]<T>(): Promise<T> | undefined {
    return this.#refused<T>();
  }

  /** The error the message was given up with, if it was. */
  get [GIVEN_UP](): Error | undefined {
    return this.#givenUp;
  }

  /** See {@link HANDLER_DEADLINE}. */
  get [HANDLER_DEADLINE](): DeadlineHooks {
    return {
      waiting: this.#inFlight > 0,
      waitedMs: (now) => this.#waited + (this.#inFlight > 0 ? now - this.#waitingSince : 0),
      giveUp: (error) => {
        this.#givenUp ??= error;
        this.#abort?.abort(error);
      },
    };
  }

  /** Starts a wait of the message (see {@link DeadlineHooks.waitedMs}); returns its end. */
  #waitFor(): () => void {
    if (this.#inFlight++ === 0) this.#waitingSince = performance.now();
    return () => {
      if (--this.#inFlight === 0) this.#waited += performance.now() - this.#waitingSince;
    };
  }

  /** A refusal for a handler still acting after its message was given up, handled if not awaited. */
  #refused<T>(): Promise<T> | undefined {
    if (!this.#givenUp) return undefined;
    const refused = Promise.reject(this.#givenUp);
    refused.catch(() => {});
    return refused;
  }

  /** The payload as UTF-8 text. */
  text(): string {
    return this.payload.toString('utf8');
  }

  /**
   * The payload parsed as JSON (once); throws `E_INVALID_MESSAGE` when it is not JSON, or not
   * UTF-8 text (JSON is: bytes that are not would reach the handler as U+FFFD, changed).
   */
  get json(): unknown {
    if (!this.#json) {
      if (!isUtf8(this.payload)) {
        throw new InvalidMessageError(
          `payload on ${shownTopic(this.topic)} is not valid JSON: it is not UTF-8 text (as JSON must be)`,
        );
      }
      try {
        this.#json = { value: JSON.parse(this.text()) };
      } catch (cause) {
        throw new InvalidMessageError(
          `payload on ${shownTopic(this.topic)} is not valid JSON: ${(cause as Error).message}`,
          {
            cause,
          },
        );
      }
    }
    return this.#json.value;
  }

  /**
   * Dispatches a job; resolves to its id once it is stored. The message is acknowledged
   * only after every job its handler dispatched is stored, awaited or not.
   */
  dispatch<C extends JobClass>(
    job: C,
    payload: DispatchPayload<C>,
    options?: DispatchOptions,
  ): Promise<string> {
    const id = this.dispatchWithOutcome(job, payload, options).then((dispatched) => dispatched.id);
    // a failure reaches settled(); a handler that did not await the id must not crash the process
    id.catch(() => {});
    return id;
  }

  /**
   * Dispatches a job as {@link dispatch} does; resolves to its id and what storing it did, so a
   * handler given a `jobId` can tell a job it added from one that existed already
   * (`outcome: 'duplicate'`, nothing added), as `npx topiq job:dispatch` does.
   *
   * @example
   * const { id, outcome } = await ctx.dispatchWithOutcome(CalibrateJob, payload, { jobId: `calibrate-${deviceId}` });
   * if (outcome === 'duplicate') ctx.log.info({ jobId: id }, 'calibration already requested');
   */
  dispatchWithOutcome<C extends JobClass>(
    job: C,
    payload: DispatchPayload<C>,
    options?: DispatchOptions,
  ): Promise<DispatchedJob> {
    const refused = this.#refused<DispatchedJob>();
    if (refused) return refused;
    // A job that could not be stored must not let its message be acknowledged silently,
    // even when the handler did not await it: `settled()` reports the first such failure.
    return this.#track(this.#services.dispatch(job, payload, options), MessageContext.#failed);
  }

  /**
   * Publishes from the application. The message is acknowledged once the publish settles,
   * awaited or not; one that fails is logged (`message.publish_failed`), since a handler that
   * did not await it would never hear of it. The message is not dead-lettered for it: its
   * jobs are stored, and a redelivery would run them again.
   */
  publish(topic: string, payload: string | Buffer, options?: Parameters<Publisher>[2]): Promise<void> {
    const refused = this.#refused<void>();
    if (refused) return refused;
    return this.#track(this.#services.publish(topic, payload, options), (ctx, error) => {
      ctx.log.warn(
        { event: 'message.publish_failed', err: error, publishTopic: topic },
        'a publish started by the handler failed',
      );
    });
  }

  /**
   * Answers an MQTT 5 request on its response topic, echoing its correlation data.
   * Throws `E_INVALID_MESSAGE` when the request named no response topic, or one outside the
   * reply prefix (`JOB_COMMAND_REPLY_TOPIC`, default `topiq/replies`): the app publishes with
   * its own rights, so a device may not have it write into another device's topics.
   */
  reply(payload: unknown, options: { qos?: 0 | 1 | 2 } = {}): Promise<void> {
    const { responseTopic, correlationData } = this.properties;
    if (!responseTopic) {
      throw new InvalidMessageError(
        `cannot reply to ${shownTopic(this.topic)}: the request carries no MQTT 5 response topic (publish with MQTT 5 and set responseTopic)`,
      );
    }
    const prefix = this.#services.replyTopic ?? DEFAULT_REPLY_TOPIC;
    if (!isReplyTopic(responseTopic, prefix)) {
      throw new InvalidMessageError(
        `cannot reply to ${shownTopic(this.topic)}: the request ${replyTopicRefusal(responseTopic, prefix)}`,
      );
    }
    const body = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
    return this.publish(responseTopic, body, {
      qos: options.qos ?? 1,
      properties: correlationData ? { correlationData } : {},
    });
  }

  /**
   * Waits for everything this message's handler started (dispatches, publishes, state calls);
   * rejects with the first dispatch or state merge that failed, so the message is dead-lettered
   * (or run again), not acknowledged as if its jobs and state were stored.
   */
  async settled(): Promise<void> {
    while (this.#pending.length > 0) await Promise.all(this.#pending.splice(0));
    if (this.#failure) throw this.#failure.error;
  }
}

/**
 * The state store as one message's handler sees it ({@link MessageContext.state}): a class, not
 * closures, as a message that reads state makes one.
 */
class ContextState implements StateStore {
  readonly #ctx: MessageContext<any>;
  readonly #store: StateStore;

  constructor(ctx: MessageContext<any>, store: StateStore) {
    this.#ctx = ctx;
    this.#store = store;
  }

  merge(namespace: string, id: string, fields: JsonObject): Promise<JsonObject> {
    return (
      this.#ctx[REFUSAL]<JsonObject>() ??
      this.#ctx[STATE_CALL](this.#store.merge(namespace, id, fields), true)
    );
  }

  get(namespace: string, id: string): Promise<JsonObject | undefined> {
    return this.#ctx[STATE_CALL](this.#store.get(namespace, id), false);
  }

  all(namespace: string): Promise<Record<string, JsonObject>> {
    return this.#ctx[STATE_CALL](this.#store.all(namespace), false);
  }
}
