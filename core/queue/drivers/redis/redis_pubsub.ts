/**
 * Redis Pub/Sub for the messages every process must hear: job events (dashboards, the
 * MQTT bridge) and cancel requests (the worker running the job aborts at once). One
 * subscriber connection per driver, opened on first subscription.
 */
import type { Redis } from 'ioredis';

type Listener = (message: string) => void;

export class RedisPubSub {
  readonly #source: Redis;
  readonly #listeners = new Map<string, Set<Listener>>();
  /** Called each time the subscriber connection is ready again after a reconnection. */
  readonly #onReady = new Set<() => void>();
  #subscriber: Redis | undefined;
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
      let connected = false;
      this.#subscriber.on('ready', () => {
        if (connected) for (const each of this.#onReady) each();
        connected = true;
      });
      this.#subscriber.on('message', (from: string, message: string) => {
        for (const each of this.#listeners.get(from) ?? []) {
          try {
            each(message);
          } catch {
            // A malformed message (anyone may PUBLISH) or a throwing listener must not
            // take the process down; the message is dropped.
          }
        }
      });
    }
    let listeners = this.#listeners.get(channel);
    if (!listeners) {
      listeners = new Set();
      this.#listeners.set(channel, listeners);
      try {
        await this.#subscriber.subscribe(channel);
      } catch (error) {
        // refused (Redis down): a later call subscribes again
        if (listeners.size === 0 && this.#listeners.get(channel) === listeners)
          this.#listeners.delete(channel);
        throw error;
      }
    }
    listeners.add(listener);
    if (onReady) this.#onReady.add(onReady);
    return async () => {
      if (onReady) this.#onReady.delete(onReady);
      listeners.delete(listener);
      if (listeners.size === 0 && this.#listeners.get(channel) === listeners) {
        this.#listeners.delete(channel);
        await this.#subscriber?.unsubscribe(channel).catch(() => {});
      }
    };
  }

  close(): void {
    this.#closed = true;
    this.#onReady.clear();
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#listeners.clear();
  }
}
