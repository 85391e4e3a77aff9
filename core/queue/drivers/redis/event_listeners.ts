/**
 * Whether any process listens to job events, so a publisher with nobody to tell skips
 * encoding and publishing them, as Node's `diagnostics_channel` publishers check
 * `hasSubscribers`. Redis Pub/Sub delivers a message only to those subscribed when it is
 * published, so a message nobody receives changes nothing; and by default nobody does (the
 * MQTT bridge is off until `JOB_EVENTS_TOPIC` is set, and `app.onJobEvent` is the user's).
 *
 * A listening driver announces itself (`here`) on a channel of its own at once when it
 * subscribes, then every `heartbeatMs` while it listens. A publisher hears those
 * announcements (on the subscriber connection it has for cancel requests) and publishes while
 * one came within `graceMs`. Whenever it starts hearing (its first subscription, and again
 * after each reconnection of that connection) it asks (`who`), every listener answers at once,
 * and it publishes meanwhile, for `startupMs` (longer than a heartbeat, so a lost question
 * costs nothing): a listener that subscribed long ago misses nothing from a worker that just
 * started or reconnected. It also publishes whenever it cannot hear (its subscriber
 * connection down, or its subscription refused), since then it cannot know; and right after its
 * own event loop was blocked longer than the grace allows for (a handler's synchronous work),
 * since the announcements that came meanwhile are still unread in its socket. Times are
 * monotonic (`performance.now()`), so a clock step changes nothing. Announcements go through
 * `PUBLISH`, so they reach every node of a Redis Cluster, where `PUBSUB NUMSUB` would not.
 */
import type { RedisPubSub } from './redis_pubsub.js';

export interface EventListenerTiming {
  /** How often a listening driver announces itself (default 1,000 ms). */
  heartbeatMs?: number;
  /** How long after the last announcement publishers still publish (default 3,500 ms). */
  graceMs?: number;
  /** How long a publisher that starts hearing waits for answers, publishing (default 1,500 ms). */
  startupMs?: number;
}

/** The timing a driver uses unless told otherwise. */
export const DEFAULT_EVENT_LISTENER_TIMING: Required<EventListenerTiming> = {
  heartbeatMs: 1000,
  graceMs: 3500,
  startupMs: 1500,
};

const HERE = 'here';
const WHO = 'who';
/** How long after a refused subscription to announcements a publisher tries again. */
const RETRY_MS = 1000;

export class EventListenerPresence {
  readonly #pubsub: RedisPubSub;
  readonly #channel: string;
  readonly #heartbeatMs: number;
  readonly #graceMs: number;
  readonly #startupMs: number;
  /** Listeners subscribed through this driver: they count at once, without a round trip. */
  #local = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** `performance.now()` of the last announcement heard (or as if, for a start-up window). */
  #heardAt = Number.NEGATIVE_INFINITY;
  /** Subscribed to announcements, or subscribing. */
  #watching = false;
  /** When a refused subscription may be tried again. */
  #retryAt = 0;
  /** Subscribed to announcements: until then it cannot know, and publishes. */
  #hearing = false;
  #closed = false;
  /** Notes when this process's event loop last ran timers, to tell when it was blocked. */
  #tick: NodeJS.Timeout | undefined;
  #tickAt = 0;
  /** Blocked just now: announcements may wait unread in the socket until the next I/O poll. */
  #stalled = false;

  constructor(pubsub: RedisPubSub, channel: string, timing: EventListenerTiming = {}) {
    this.#pubsub = pubsub;
    this.#channel = channel;
    const { heartbeatMs, graceMs, startupMs } = { ...DEFAULT_EVENT_LISTENER_TIMING, ...timing };
    this.#heartbeatMs = heartbeatMs;
    this.#graceMs = graceMs;
    this.#startupMs = startupMs;
  }

  /** Whether an event published now may reach a listener. */
  present(): boolean {
    if (this.#local > 0 || this.#closed) return true;
    this.#watch();
    if (!this.#hearing || !this.#pubsub.subscriberReady) return true;
    const now = performance.now();
    if (now - this.#heardAt < this.#graceMs) return true;
    // not heard for the grace: nobody listens, unless this process could not read meanwhile
    return this.#stalled || now - this.#tickAt > this.#stallMs;
  }

  /**
   * How long a block of the event loop may last before announcements may go unread for the
   * whole grace: they come every heartbeat, so one was due at most that long before it began
   * (a second heartbeat of margin for their jitter and delivery).
   */
  get #stallMs(): number {
    return Math.max(this.#graceMs - 2 * this.#heartbeatMs, this.#graceMs / 2);
  }

  /** Starts noting the event loop's turns (see {@link present}). */
  #watchLoop(): void {
    if (this.#tick) return;
    this.#tickAt = performance.now();
    this.#tick = setInterval(() => {
      const now = performance.now();
      if (now - this.#tickAt > this.#stallMs && !this.#stalled) {
        // the socket is read in the I/O poll after these timers; setImmediate runs after it
        this.#stalled = true;
        setImmediate(() => {
          this.#stalled = false;
        });
      }
      this.#tickAt = now;
    }, this.#stallMs / 4);
    this.#tick.unref();
  }

  /** Counts a listener of this driver and announces it until the returned function is called. */
  listening(): () => void {
    if (this.#closed) return () => {};
    this.#local++;
    // to answer the questions of publishers that start later
    this.#watch();
    if (this.#local === 1) {
      this.#announce();
      this.#heartbeat = setInterval(() => this.#announce(), this.#heartbeatMs);
      this.#heartbeat.unref();
    }
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      this.#local--;
      if (this.#local === 0) this.#stopHeartbeat();
    };
  }

  close(): void {
    this.#closed = true;
    this.#stopHeartbeat();
    clearInterval(this.#tick);
    this.#tick = undefined;
  }

  #announce(): void {
    if (!this.#closed) this.#pubsub.publish(this.#channel, HERE);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  /** Subscribes to announcements, once (again after a refusal, no sooner than `RETRY_MS`). */
  #watch(): void {
    if (this.#watching || this.#closed || performance.now() < this.#retryAt) return;
    this.#watching = true;
    this.#watchLoop();
    this.#pubsub
      .subscribe(
        this.#channel,
        (message) => {
          if (message !== WHO) this.#heardAt = performance.now();
          else if (this.#local > 0) this.#announce();
        },
        // every time the connection is ready again, it has missed announcements meanwhile
        () => this.#startHearing(),
      )
      .then(
        () => this.#startHearing(),
        () => {
          this.#watching = false;
          this.#retryAt = performance.now() + RETRY_MS;
        },
      );
  }

  /** Asks who listens, publishing for `startupMs` unless an answer comes; answers for this driver. */
  #startHearing(): void {
    if (this.#closed) return;
    this.#heardAt = Math.max(this.#heardAt, performance.now() - this.#graceMs + this.#startupMs);
    this.#hearing = true;
    this.#pubsub.publish(this.#channel, WHO);
    // a publisher that started with this one may have asked before it could hear
    if (this.#local > 0) this.#announce();
  }
}
