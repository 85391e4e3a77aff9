/**
 * Redis Pub/Sub for the messages every process must hear: job events (dashboards, the
 * MQTT bridge) and cancel requests (the worker running the job aborts at once). One
 * subscriber connection per driver, opened on first subscription.
 */
import { limitReadyWait, READY_WAIT_MS } from './ready_deadline.js';
import type { Redis } from 'ioredis';

type Listener = (message: string) => void;

/** A channel's listeners and its SUBSCRIBE, which every caller that joins meanwhile awaits. */
interface Channel {
  readonly listeners: Set<Listener>;
  readonly subscribed: Promise<unknown>;
}

export class RedisPubSub {
  readonly #source: Redis;
  readonly #channels = new Map<string, Channel>();
  /** Called each time the subscriber connection is ready again after a reconnection. */
  readonly #onReady = new Set<() => void>();
  #subscriber: Redis | undefined;
  /**
   * Channels left whose UNSUBSCRIBE failed (Redis away): ioredis still counts them as
   * subscribed and subscribes again on reconnecting, so they are unsubscribed once it is ready.
   */
  readonly #leftWhileAway = new Set<string>();
  #closed = false;

  constructor(source: Redis) {
    this.#source = source;
  }

  /** Whether the subscriber connection is open and subscribed (false before the first subscription). */
  get subscriberReady(): boolean {
    return this.#subscriber?.status === 'ready';
  }

  /** Publishes without waiting; a lost event is logged by nobody and harms nothing. */
  publish(channel: string, message: string): void {
    this.#source.publish(channel, message).catch(() => {});
  }

  /** Publishes and resolves once Redis has it (for messages that must not be lost on exit). */
  async publishAndWait(channel: string, message: string): Promise<void> {
    await this.#source.publish(channel, message);
  }

  /**
   * Resolves once what was published so far has reached this process's subscriptions: a PING on
   * the publishing connection (its PUBLISHes are answered first), then one on the subscriber
   * connection (its PONG comes after the messages Redis gave it before).
   */
  async delivered(): Promise<void> {
    await this.#source.ping();
    await this.#subscriber?.ping();
  }

  /**
   * Subscribes; resolves to an unsubscribe function once the subscription is active.
   * `onReady` is called each time the subscriber connection is ready again after it was lost
   * (messages published meanwhile were missed). Refused once closed.
   */
  async subscribe(channel: string, listener: Listener, onReady?: () => void): Promise<() => Promise<void>> {
    if (this.#closed) throw new Error(`cannot subscribe to ${channel}: the connection was closed`);
    if (!this.#subscriber) {
      // No ready check: ioredis sends a SUBSCRIBE made while it connects (it may run while Redis
      // loads) before its INFO check, and INFO then fails in subscriber mode, failing the first
      // subscription (ioredis #2037; two subscriptions at start-up hit it under load). Nothing
      // but SUBSCRIBE goes over this connection, so it has nothing to wait for.
      this.#subscriber = this.#source.duplicate({
        enableAutoPipelining: false,
        lazyConnect: true,
        enableReadyCheck: false,
      });
      this.#subscriber.on('error', () => {});
      // a server that accepts the connection and answers nothing never answers its SUBSCRIBE:
      // closed, the subscription is tried again, and fails after its retries
      limitReadyWait(this.#subscriber, READY_WAIT_MS, () => this.#channels.size > 0);
      let connected = false;
      this.#subscriber.on('ready', () => {
        if (connected) for (const each of this.#onReady) each();
        connected = true;
        this.#unsubscribeLeft();
      });
      this.#subscriber.on('message', (from: string, message: string) => {
        for (const each of this.#channels.get(from)?.listeners ?? []) {
          try {
            each(message);
          } catch {
            // A malformed message (anyone may PUBLISH) or a throwing listener must not
            // take the process down; the message is dropped.
          }
        }
      });
    }
    // A caller that joins a channel whose SUBSCRIBE is in flight waits for that SUBSCRIBE: were
    // it answered at once, it could unsubscribe, empty the channel and drop it before the first
    // caller's SUBSCRIBE returned, leaving that caller deaf for good.
    let entry = this.#channels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), subscribed: this.#subscriber.subscribe(channel) };
      this.#channels.set(channel, entry);
    }
    const { listeners, subscribed } = entry;
    listeners.add(listener);
    try {
      await subscribed;
    } catch (error) {
      // refused (Redis down): every caller waiting on it fails, and a later call subscribes again
      listeners.delete(listener);
      if (this.#channels.get(channel) === entry) this.#channels.delete(channel);
      throw error;
    }
    if (onReady) this.#onReady.add(onReady);
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      if (onReady) this.#onReady.delete(onReady);
      listeners.delete(listener);
      if (listeners.size === 0 && this.#channels.get(channel) === entry) {
        this.#channels.delete(channel);
        // sent after the SUBSCRIBE on the same connection, and before any later one: in order
        await this.#subscriber?.unsubscribe(channel).catch(() => {
          this.#leftWhileAway.add(channel);
        });
      }
    };
  }

  /** Unsubscribes the channels left while Redis was away that nobody joined since. */
  #unsubscribeLeft(): void {
    for (const channel of this.#leftWhileAway) {
      this.#leftWhileAway.delete(channel);
      if (this.#channels.has(channel)) continue;
      void this.#subscriber?.unsubscribe(channel).catch(() => {
        this.#leftWhileAway.add(channel);
      });
    }
  }

  close(): void {
    this.#closed = true;
    this.#onReady.clear();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#channels.clear();
  }
}
