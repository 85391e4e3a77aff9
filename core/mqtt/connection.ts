/**
 * The application's connection to the MQTT broker: a persistent session under a fixed
 * client id, reconnects with jittered exponential backoff, resubscription when the broker
 * lost the session, and acknowledgements deferred until the consumer has stored each
 * message, sent in arrival order (`inbound_flow.ts`).
 */
import { connect, type IConnackPacket, type MqttClient } from 'mqtt';
import { BrokerUnavailableError } from '../errors.js';
import type { Logger } from '../logger.js';
import { backoffDelay } from './backoff.js';
import { connackRefusal, type Refusal } from './connack_refusal.js';
import {
  type MqttConnectionOptions,
  type ResolvedConnectionOptions,
  redactUrl,
  resolveConnectionOptions,
} from './connection_options.js';
import { InboundFlow } from './inbound_flow.js';
import { assertSupportedClient, isWritable } from './mqtt_internals.js';
import type { PublishOptions, QoS } from './mqtt_message.js';
import {
  isSharedFilter,
  normalizeSubscriptions,
  type Subscription,
  SubscriptionRefusedError,
  subscribeOnce,
} from './subscription.js';

type State = 'idle' | 'connecting' | 'online' | 'offline' | 'closing' | 'closed';

interface Waiter {
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * One MQTT client connection owned by the application.
 *
 * @example
 * const connection = new MqttConnection({
 *   url: 'mqtt://127.0.0.1:1883',
 *   clientId: 'topiq-ingest-1',
 *   onMessage: async (message) => { await enqueue(message); }, // PUBACK follows the resolve
 *   logger,
 * });
 * await connection.connect();
 * await connection.subscribe([{ filter: '$share/ingest/devices/+/telemetry', qos: 1 }]);
 * // ... on shutdown
 * await connection.close({ drainTimeoutMs: 5_000 });
 */
export class MqttConnection {
  readonly #options: ResolvedConnectionOptions;
  readonly #log: Logger;
  readonly #url: string;
  readonly #client: MqttClient;
  readonly #inbound: InboundFlow;
  readonly #subscriptions = new Map<string, QoS>();
  /** Under MQTT 5, shared filters ask for no retained messages (see `subscribeOnce`). */
  readonly #subscribeOptions: { readonly noRetainedForShared: boolean };
  readonly #pendingPublishes = new Set<(error: Error) => void>();
  #state: State = 'idle';
  #lostConnections = 0;
  #attempt = 0; // reconnect attempts since the last connection that stayed up
  #connectedAt: number | undefined; // performance.now() at the current connection's CONNACK
  #reconnectTimer: NodeJS.Timeout | undefined;
  #lastError: Error | undefined;
  #refusal: Refusal | undefined;
  #connecting: (Waiter & { timer: NodeJS.Timeout }) | undefined;
  #onlineWaiters: Waiter[] = [];
  #connected: Promise<void> | undefined;
  /**
   * A CONNACK said the broker had lost the session, and no resubscribe has been acknowledged
   * since. A later CONNACK's `sessionPresent` then proves nothing: a broker creates the session
   * of a `clean: false` client on connect, empty, so the next one says "present" even though
   * the resubscribe was cut off before it reached the broker.
   */
  #resubscribePending = false;
  #closed: Promise<void> | undefined;

  constructor(options: MqttConnectionOptions) {
    this.#options = resolveConnectionOptions(options);
    this.#subscribeOptions = { noRetainedForShared: this.#options.protocolVersion === 5 };
    const { clientId, protocolVersion, maxInFlight } = this.#options;
    this.#url = redactUrl(this.#options.url);
    this.#log = this.#options.logger.child({ component: 'mqtt', clientId });
    this.#client = connect(this.#options.url, {
      clientId,
      clean: false,
      protocolVersion,
      username: this.#options.username,
      password: this.#options.password,
      keepalive: this.#options.keepaliveSeconds,
      connectTimeout: this.#options.connectTimeoutMs,
      manualConnect: true,
      reconnectPeriod: 0, // mqtt.js would retry on a fixed interval; #onConnectionLost backs off
      resubscribe: false, // #onConnack resubscribes, from the CONNACK's sessionPresent
      queueQoSZero: false,
      properties:
        protocolVersion === 5
          ? { sessionExpiryInterval: this.#options.sessionExpirySeconds, receiveMaximum: maxInFlight }
          : undefined,
    });
    assertSupportedClient(this.#client);
    // under MQTT 5 the broker is told maxInFlight (Receive Maximum, above) and keeps to it
    this.#inbound = new InboundFlow(
      this.#client,
      this.#options.onMessage,
      maxInFlight,
      this.#log,
      protocolVersion === 5,
    );
    this.#client.handleMessage = (packet, callback) => this.#inbound.receive(packet, callback);
    this.#client.on('connect', (connack) => this.#onConnack(connack));
    this.#client.on('close', () => this.#onConnectionLost());
    this.#client.on('error', (error) => {
      this.#lastError = error;
      this.#log.warn({ event: 'mqtt.client_error', err: error, url: this.#url }, 'MQTT client error');
    });
    this.#client.on('packetreceive', (packet) => {
      if (packet.cmd !== 'connack') return;
      this.#refusal = connackRefusal(packet, protocolVersion);
      // Acks go out in bursts of small packets; with Nagle on, each burst after the first
      // waits for the broker's delayed TCP ACK (~40 ms on Linux) and throughput collapses.
      (this.#client.stream as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
    });
  }

  /** True while connected with every recorded subscription in place. */
  get isOnline(): boolean {
    return this.#state === 'online';
  }

  /** Messages handed to the consumer whose acknowledgement has not been sent yet. */
  get inFlight(): number {
    return this.#inbound.inFlight;
  }

  /**
   * Opens the connection; resolves on the first CONNACK. Retries with backoff until
   * `connectTimeoutMs`, then rejects with BrokerUnavailableError (at once if the broker
   * refuses the credentials, the client id or the protocol version). Calling it again
   * returns the same promise.
   */
  connect(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(this.#closedError());
    this.#connected ??= new Promise<void>((resolve, reject) => {
      this.#state = 'connecting';
      this.#log.info(
        { event: 'mqtt.connecting', url: this.#url, protocolVersion: this.#options.protocolVersion },
        'connecting to MQTT broker',
      );
      const timer = setTimeout(() => this.#failConnect(this.#unreachable()), this.#options.connectTimeoutMs);
      this.#connecting = { resolve, reject, timer };
      this.#client.connect();
    });
    return this.#connected;
  }

  /** Resolves once connected with every recorded subscription in place. */
  whenOnline(): Promise<void> {
    if (this.#state === 'online') return Promise.resolve();
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(this.#closedError());
    return new Promise((resolve, reject) => this.#onlineWaiters.push({ resolve, reject }));
  }

  /**
   * Subscribes and records the filters, so they are restored whenever a reconnect finds
   * the session gone. Waits until online. Rejects with SubscriptionRefusedError when the
   * broker refuses a filter (the granted ones stay), BrokerUnavailableError when the
   * connection drops before the SUBACK.
   *
   * @example
   * await connection.subscribe([{ filter: 'devices/+/telemetry', qos: 1 }]);
   */
  async subscribe(subscriptions: readonly Subscription[]): Promise<void> {
    const wanted = normalizeSubscriptions(subscriptions);
    await this.whenOnline();
    const refused = await subscribeOnce(this.#client, wanted, this.#url, this.#subscribeOptions);
    for (const [filter, qos] of wanted) {
      if (!refused.some((entry) => entry.filter === filter)) this.#subscriptions.set(filter, qos);
    }
    if (refused.length > 0) throw new SubscriptionRefusedError(refused, this.#url);
    this.#log.info({ event: 'mqtt.subscribed', filters: [...wanted.keys()] }, 'subscribed');
  }

  /**
   * Unsubscribes `filters` and stops restoring them. For filters a persistent session may hold
   * from an earlier run (routes since removed, sharing since changed): the broker would go on
   * delivering them. Waits until online; rejects with BrokerUnavailableError when the
   * connection drops before the UNSUBACK.
   *
   * @example
   * await connection.unsubscribe(['devices/+/telemetry']);
   */
  async unsubscribe(filters: readonly string[]): Promise<void> {
    if (filters.length === 0) return;
    await this.whenOnline();
    try {
      await this.#client.unsubscribeAsync([...filters]);
    } catch (error) {
      throw new BrokerUnavailableError(
        `The MQTT connection to ${this.#url} dropped before the broker confirmed unsubscribing ` +
          `${filters.join(', ')}; call unsubscribe() again once connected.`,
        { cause: error },
      );
    }
    for (const filter of filters) this.#subscriptions.delete(filter);
    this.#log.info({ event: 'mqtt.unsubscribed', filters }, 'unsubscribed');
  }

  /**
   * Publishes a message. With QoS 1 or 2 the promise resolves on the broker's
   * acknowledgement (resent after a reconnect if need be); QoS 0 resolves once written.
   *
   * @example
   * await connection.publish(`devices/${id}/commands`, JSON.stringify(command), { qos: 1 });
   */
  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(this.#closedError());
    if ((options.qos ?? 0) === 0) {
      // Fire and forget, as QoS 0 is: no per-publish callback, because mqtt.js parks each
      // one on the socket's 'drain' event while it is backed up, and removing thousands of
      // such listeners costs quadratic time (measured: 30,000 publishes 3.9 s vs 0.28 s).
      const { retain = false, properties } = options;
      this.#client.publish(topic, payload, { qos: 0, retain, ...(properties ? { properties } : {}) });
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const fail = (error: Error): void => {
        this.#pendingPublishes.delete(fail);
        reject(error);
      };
      this.#pendingPublishes.add(fail);
      const { qos = 0, retain = false, properties } = options;
      this.#client.publish(topic, payload, { qos, retain, properties }, (error) => {
        if (!error) {
          this.#pendingPublishes.delete(fail);
          resolve();
          return;
        }
        const message = `The MQTT broker at ${this.#url} did not take the publish to "${topic}": ${error.message}.`;
        fail(new BrokerUnavailableError(message, { cause: error }));
      });
    });
  }

  /**
   * Stops handing messages to the consumer and waits up to `drainTimeoutMs` for those it holds
   * to be acknowledged, keeping the connection open for publishing until {@link close}.
   * Messages arriving meanwhile are left unacknowledged for the broker to redeliver.
   */
  async stopIntake(drainTimeoutMs = 0): Promise<void> {
    if (this.#state === 'idle' || this.#state === 'closing' || this.#state === 'closed') return;
    await this.#inbound.drain(drainTimeoutMs);
  }

  /**
   * Disconnects and stops reconnecting. With `drainTimeoutMs`, first waits up to that long
   * for the consumer to finish the messages it holds so their acknowledgements go out;
   * messages arriving meanwhile are left unacknowledged for the broker to redeliver.
   */
  close(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= this.#close(options.drainTimeoutMs ?? 0);
    return this.#closed;
  }

  async #close(drainTimeoutMs: number): Promise<void> {
    const previous = this.#state;
    this.#state = 'closing';
    clearTimeout(this.#reconnectTimer);
    if (previous === 'connecting') {
      this.#failConnect(
        new BrokerUnavailableError(`close() was called before the broker at ${this.#url} answered.`),
      );
    }
    if (previous !== 'idle') {
      await this.#inbound.drain(drainTimeoutMs);
      // A graceful end waits for every outgoing publish's acknowledgement: only when none is pending.
      const force = !isWritable(this.#client) || this.#pendingPublishes.size > 0;
      await new Promise<void>((resolve) => this.#client.end(force, {}, () => resolve()));
    }
    for (const fail of [...this.#pendingPublishes]) fail(this.#closedError());
    for (const waiter of this.#onlineWaiters.splice(0)) waiter.reject(this.#closedError());
    this.#state = 'closed';
    this.#log.info({ event: 'mqtt.closed', url: this.#url }, 'MQTT connection closed');
  }

  #onConnack(connack: IConnackPacket): void {
    this.#log.info(
      {
        event: 'mqtt.connected',
        url: this.#url,
        sessionPresent: connack.sessionPresent,
        reconnected: this.#lostConnections > 0,
      },
      'connected to MQTT broker',
    );
    // the backoff starts over only once this connection has stayed up (#onConnectionLost): a
    // broker that accepts and then drops at once (another client with this id) is not hammered
    this.#connectedAt = performance.now();
    const pending = this.#connecting;
    this.#connecting = undefined;
    if (pending) {
      clearTimeout(pending.timer);
      pending.resolve();
    }
    if (!connack.sessionPresent) this.#inbound.sessionLost();
    if (!connack.sessionPresent && this.#subscriptions.size > 0) this.#resubscribePending = true;
    if (!this.#resubscribePending) {
      if (this.#lostConnections > 0) this.#resubscribeShared();
      this.#goOnline();
      return;
    }
    const connection = this.#lostConnections;
    void this.#subscribeAgain(this.#subscriptions).then((sent) => {
      if (!sent) return;
      this.#log.info(
        { event: 'mqtt.resubscribed', filters: [...this.#subscriptions.keys()] },
        'resubscribed: the broker had lost the session',
      );
      // acknowledged on a connection since lost: subscribing again on the next is harmless
      if (connection === this.#lostConnections) {
        this.#resubscribePending = false;
        this.#goOnline();
      }
    });
  }

  /**
   * Subscribes the shared filters (`$share/...`) again on a connection whose session the broker
   * kept: Mosquitto 2.0 restores a persisted session without its shared subscriptions, and then
   * acknowledges every message of them to its sender and drops it. Subscribing a filter the
   * session holds only replaces it (and asks for no retained messages: see `subscribeOnce`).
   */
  #resubscribeShared(): void {
    const shared = new Map([...this.#subscriptions].filter(([filter]) => isSharedFilter(filter)));
    if (shared.size > 0) void this.#subscribeAgain(shared);
  }

  /**
   * Sends `filters` again, best effort: a refusal is logged, a connection lost meanwhile is logged
   * (the next one tries again) unless the connection is closing. Resolves to whether the broker
   * answered.
   */
  async #subscribeAgain(filters: ReadonlyMap<string, QoS>): Promise<boolean> {
    try {
      const refused = await subscribeOnce(this.#client, filters, this.#url, this.#subscribeOptions);
      for (const entry of refused) {
        this.#log.error(
          { event: 'mqtt.resubscribe_refused', ...entry },
          'broker refused a subscription on resubscribe',
        );
      }
      return true;
    } catch (error) {
      if (this.#state !== 'closing' && this.#state !== 'closed') {
        this.#log.warn(
          { event: 'mqtt.resubscribe_interrupted', err: error },
          'resubscribe interrupted; retrying on the next connection',
        );
      }
      return false;
    }
  }

  #goOnline(): void {
    if (this.#state !== 'connecting' && this.#state !== 'offline') return;
    this.#state = 'online';
    for (const waiter of this.#onlineWaiters.splice(0)) waiter.resolve();
  }

  #onConnectionLost(): void {
    this.#lostConnections += 1;
    const unacknowledged = this.#inbound.connectionLost();
    if (this.#state === 'closing' || this.#state === 'closed') return;
    if (this.#state === 'online') {
      this.#state = 'offline';
      this.#log.warn(
        { event: 'mqtt.connection_lost', url: this.#url, unacknowledged },
        'MQTT connection lost; unacknowledged messages will be redelivered',
      );
    }
    const refusal = this.#refusal;
    this.#refusal = undefined;
    if (this.#state === 'connecting' && refusal?.permanent) {
      const message = `The MQTT broker at ${this.#url} refused the connection: ${refusal.reason}. ${refusal.advice}`;
      this.#failConnect(new BrokerUnavailableError(message, { cause: this.#lastError }));
      return;
    }
    if (this.#reconnectTimer !== undefined) return;
    const connectedAt = this.#connectedAt;
    this.#connectedAt = undefined;
    if (connectedAt !== undefined && performance.now() - connectedAt >= this.#options.reconnect.maxMs) {
      this.#attempt = 0;
    }
    const delayMs = backoffDelay(this.#attempt, this.#options.reconnect);
    this.#attempt += 1;
    this.#log[refusal ? 'error' : 'info'](
      { attempt: this.#attempt, delayMs, refusal: refusal?.reason },
      'reconnecting to MQTT broker',
    );
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      // Keep the stores: they hold our unacknowledged publishes and inbound QoS 2 state.
      this.#client.reconnect({
        incomingStore: this.#client.incomingStore,
        outgoingStore: this.#client.outgoingStore,
      });
    }, delayMs);
  }

  #failConnect(error: Error): void {
    const pending = this.#connecting;
    if (!pending) return;
    this.#connecting = undefined;
    clearTimeout(pending.timer);
    pending.reject(error);
    void this.close();
  }

  #unreachable(): BrokerUnavailableError {
    const last = this.#lastError ? ` Last error: ${this.#lastError.message}.` : '';
    return new BrokerUnavailableError(
      `Could not connect to the MQTT broker at ${this.#url} within ${this.#options.connectTimeoutMs} ms.${last} ` +
        'Check that the broker is running and reachable at that address (MQTT_URL: host, port, TLS).',
      { cause: this.#lastError },
    );
  }

  #closedError(): BrokerUnavailableError {
    return new BrokerUnavailableError(
      `The MQTT connection to ${this.#url} is closed; build a new MqttConnection to connect again.`,
    );
  }
}
