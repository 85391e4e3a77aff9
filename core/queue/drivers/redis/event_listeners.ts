/**
 * Whether any process listens to job events, so a publisher with nobody to tell skips
 * encoding and publishing them, as Node's `diagnostics_channel` publishers check
 * `hasSubscribers`. Redis Pub/Sub delivers a message only to those subscribed when it is
 * published, so a message nobody receives changes nothing; and by default nobody does (the
 * MQTT bridge is off until `JOB_EVENTS_TOPIC` is set, and `app.onJobEvent` is the user's).
 *
 * A listening process announces itself (`here`) on a channel of its own at once when it
 * subscribes, then every `heartbeatMs` while it listens. A publisher hears those
 * announcements (on the subscriber connection it has for cancel requests) and publishes while
 * one came within `graceMs`. When it starts hearing, it asks (`who`), every listener answers
 * at once, and it publishes meanwhile, for `startupMs`: so a listener that subscribed long ago
 * misses nothing from a worker that just started. It also publishes whenever it cannot hear
 * (its subscriber connection down), since then it cannot know. Announcements go through
 * `PUBLISH`, so they reach every node of a Redis Cluster, where `PUBSUB NUMSUB` would not.
 */
import type { RedisPubSub } from './redis_pubsub.js';

export interface EventListenerTiming {
  /** How often a listening process announces itself (default 1,000 ms). */
  heartbeatMs?: number;
  /** How long after the last announcement publishers still publish (default 3,500 ms). */
  graceMs?: number;
  /** How long a publisher that starts hearing waits for answers, publishing (default 500 ms). */
  startupMs?: number;
}

const HERE = 'here';
const WHO = 'who';

export class EventListenerPresence {
  readonly #pubsub: RedisPubSub;
  readonly #channel: string;
  readonly #heartbeatMs: number;
  readonly #graceMs: number;
  readonly #startupMs: number;
  /** Listeners in this process: they count at once, without a round trip. */
  #local = 0;
  #heartbeat: NodeJS.Timeout | undefined;
  /** Epoch ms of the last announcement heard. */
  #heardAt = 0;
  #watching: Promise<unknown> | undefined;
  /** Subscribed to announcements: until then it cannot know, and publishes. */
  #hearing = false;
  #closed = false;

  constructor(pubsub: RedisPubSub, channel: string, timing: EventListenerTiming = {}) {
    this.#pubsub = pubsub;
    this.#channel = channel;
    this.#heartbeatMs = timing.heartbeatMs ?? 1000;
    this.#graceMs = timing.graceMs ?? 3500;
    this.#startupMs = timing.startupMs ?? 500;
  }

  /** Whether an event published now may reach a listener. */
  present(): boolean {
    if (this.#local > 0) return true;
    if (this.#watching === undefined) this.#watch();
    if (!this.#hearing || !this.#pubsub.subscriberReady) return true;
    return Date.now() - this.#heardAt < this.#graceMs;
  }

  /** Counts a listener of this process and announces it until the returned function is called. */
  listening(): () => void {
    this.#local++;
    // to answer the questions of publishers that start later
    if (this.#watching === undefined) this.#watch();
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
  }

  #announce(): void {
    if (!this.#closed) this.#pubsub.publish(this.#channel, HERE);
  }

  #stopHeartbeat(): void {
    clearInterval(this.#heartbeat);
    this.#heartbeat = undefined;
  }

  #watch(): void {
    this.#watching = this.#pubsub
      .subscribe(this.#channel, (message) => {
        if (message !== WHO) this.#heardAt = Date.now();
        else if (this.#local > 0) this.#announce();
      })
      .then(
        () => {
          // published to for `startupMs` from now, unless an answer comes
          this.#heardAt = Math.max(this.#heardAt, Date.now() - this.#graceMs + this.#startupMs);
          this.#hearing = true;
          if (!this.#closed) this.#pubsub.publish(this.#channel, WHO);
        },
        // unheard, it keeps publishing (the subscriber connection is not ready)
        () => {},
      );
  }
}
