/**
 * The MQTT side of a running app. Embedded mode (no `MQTT_URL`): starts the aedes broker
 * and handles each device publish inside its pre-acknowledgement hook, so the device's
 * PUBACK is sent only after the message's jobs are stored. External mode: subscribes to
 * the route table's subscriptions with a persistent session and a fixed client id, and
 * acknowledges each message after the pipeline has handled it (in order, batched).
 */
import { developmentCredentials } from '../broker/development_credentials.js';
import { type EmbeddedBroker, startEmbeddedBroker } from '../broker/embedded_broker.js';
import { staticCredentials } from '../broker/static_credentials.js';
import type { MqttSettings } from '../config/settings.js';
import { InvalidConfigError, isTopiqError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MqttConnection } from '../mqtt/connection.js';
import { isSharedFilter } from '../mqtt/subscription.js';
import { assertTopicName } from '../mqtt/topic_name.js';
import type { Subscription } from '../routing/route_table.js';
import type { InboundMessage, Publisher } from './inbound_message.js';
import { retryUntilDone } from '../support/retry.js';
import { withDeadline } from '../support/timers.js';
import type { SubscriptionMemory } from './subscription_memory.js';

/**
 * The subscriptions with `$share/<group>/` removed, merged by filter (highest QoS), for
 * brokers such as aedes that take `$share/...` as a literal topic and deliver nothing.
 */
export function withoutSharing(subscriptions: readonly Subscription[]): Subscription[] {
  const byFilter = new Map<string, Subscription['qos']>();
  for (const { filter, qos } of subscriptions) {
    const plain = isSharedFilter(filter) ? filter.split('/').slice(2).join('/') : filter;
    byFilter.set(plain, Math.max(qos, byFilter.get(plain) ?? 0) as Subscription['qos']);
  }
  return [...byFilter].map(([filter, qos]) => ({ filter, qos }));
}

/** How long a stopping gateway waits for the broker to confirm it left its shared subscriptions (ms). */
const SHARED_UNSUBSCRIBE_MS = 2000;

/** Receives every inbound message; resolving means it may be acknowledged. */
export type InboundHandler = (message: InboundMessage) => Promise<void>;

/** What a gateway is built from. */
export interface GatewayOptions {
  settings: MqttSettings;
  subscriptions: readonly Subscription[];
  log: Logger;
  /**
   * Where the external broker's subscriptions of the last run are kept, so filters no route
   * asks for any more are unsubscribed from the persistent session. Without it they stay.
   */
  subscriptionMemory?: SubscriptionMemory;
}

/**
 * Why the embedded broker these settings describe cannot start for want of accounts (it
 * requires passwords, and none are configured), or undefined: none with an external broker.
 */
export function brokerAccountsProblem(settings: MqttSettings): string | undefined {
  if (settings.url || settings.broker.auth !== 'credentials' || settings.broker.accounts.length > 0)
    return undefined;
  return (
    'the embedded broker requires passwords but no accounts are configured: set MQTT_DEVICES ' +
    '(deviceId:password,...) and/or MQTT_SERVICE_ACCOUNTS, or MQTT_AUTH=development outside production'
  );
}

/**
 * Starts and stops the MQTT transport.
 *
 * @example
 * const gateway = new MqttGateway({ settings, subscriptions: routes.subscriptions(), log });
 * await gateway.start((message) => pipeline.handle(message));
 */
export class MqttGateway {
  readonly #options: GatewayOptions;
  #broker: EmbeddedBroker | undefined;
  #connection: MqttConnection | undefined;
  #tidying: Promise<void> = Promise.resolve();
  readonly #stopped = new AbortController();
  /** The shared subscriptions (`$share/<group>/...`) of the connection. */
  #shared: string[] = [];

  constructor(options: GatewayOptions) {
    this.#options = options;
  }

  /** `embedded` or `external`. */
  get mode(): 'embedded' | 'external' {
    return this.#options.settings.url ? 'external' : 'embedded';
  }

  /** Where devices connect. */
  get url(): string {
    return this.#broker?.url ?? this.#options.settings.url ?? '';
  }

  /** The embedded broker, when running one. */
  get broker(): EmbeddedBroker | undefined {
    return this.#broker;
  }

  /**
   * Connects to the external broker, or starts the embedded one, and hands each message to
   * `handle`. Once per gateway: after `stop()` a start opens nothing (build a new gateway).
   */
  async start(handle: InboundHandler): Promise<void> {
    if (this.#stopped.signal.aborted) return;
    const { settings, log } = this.#options;
    if (settings.url) {
      const connection = new MqttConnection({
        url: settings.url,
        clientId: settings.clientId,
        protocolVersion: settings.protocolVersion,
        ...(settings.username !== undefined ? { username: settings.username } : {}),
        ...(settings.password !== undefined ? { password: settings.password } : {}),
        maxInFlight: settings.maxInFlight,
        logger: log,
        onMessage: (message) => handle(message),
      });
      this.#connection = connection;
      await connection.connect();
      // stop() came as the broker answered (one during connect() makes it reject, so start()
      // rejects with E_BROKER_UNAVAILABLE): it closed the connection, nothing more to do
      if (this.#stopped.signal.aborted) return;
      const subscriptions = settings.sharedSubscriptions
        ? this.#options.subscriptions
        : withoutSharing(this.#options.subscriptions);
      // the new filters first, then the stale ones out: a message published in between is
      // delivered twice (at least once) rather than not at all
      // known before the SUBSCRIBE goes: a stop meanwhile leaves them after it
      this.#shared = subscriptions.map(({ filter }) => filter).filter(isSharedFilter);
      if (subscriptions.length > 0) await connection.subscribe(subscriptions);
      this.#tidySubscriptions(
        connection,
        subscriptions.map(({ filter }) => filter),
      );
      return;
    }
    const { broker } = settings;
    const listed = broker.accounts.length > 0 ? staticCredentials(broker.accounts) : undefined;
    const noAccounts = brokerAccountsProblem(settings);
    if (noAccounts) throw new InvalidConfigError(noAccounts);
    if (broker.auth === 'development') {
      log.warn(
        { event: 'broker.development_auth' },
        'embedded broker in development mode: any unlisted safe username connects as that device id with any password ' +
          '(topic ACLs still apply); set MQTT_DEVICES to require passwords',
      );
    }
    const started = await startEmbeddedBroker({
      host: broker.host,
      port: broker.port,
      maxPacketBytes: broker.maxPacketBytes,
      retained: broker.retained,
      queues: broker.queues,
      deviceClientIds: broker.deviceClientIds,
      sessions: broker.sessions,
      logger: log,
      ...(broker.auth === 'development'
        ? { credentials: developmentCredentials(listed, new Set(broker.accounts.map((a) => a.username))) }
        : listed
          ? { credentials: listed }
          : {}),
      beforeAck: (publish) =>
        handle({
          topic: publish.topic,
          payload: publish.payload,
          qos: publish.qos,
          retain: publish.retain,
          dup: publish.dup,
          properties: {},
          clientId: publish.clientId,
          ...(publish.principal.kind === 'device' ? { deviceId: publish.principal.deviceId } : {}),
        }),
    });
    // stop() came while the broker started, and found none to close: closed here instead
    if (this.#stopped.signal.aborted) await started.close();
    else this.#broker = started;
  }

  /**
   * Unsubscribes the filters the last run subscribed and this one does not, and keeps this
   * run's: first this run's with the last run's (so a run that dies, or a later step that
   * fails, forgets nothing), then, once the stale ones are unsubscribed, this run's alone. In
   * the background, tried again with backoff until done or stopped (the state store may be
   * Redis, away at start), so ingest never waits for it. Failures are logged.
   */
  #tidySubscriptions(connection: MqttConnection, wanted: readonly string[]): void {
    const { subscriptionMemory: memory, log } = this.#options;
    if (!memory) return;
    const tidy = async (): Promise<void> => {
      const previous = (await memory.read()) ?? [];
      const stale = previous.filter((filter) => !wanted.includes(filter));
      if (wanted.some((filter) => !previous.includes(filter))) await memory.write([...stale, ...wanted]);
      if (stale.length === 0) return;
      await connection.unsubscribe(stale);
      log.info(
        { event: 'mqtt.stale_unsubscribed', filters: stale },
        'unsubscribed filters an earlier run subscribed and no route asks for now',
      );
      await memory.write(wanted);
    };
    // more filters than a state entry holds: trying again would fail alike, for the life of the app
    const tooMany = (error: unknown) => isTopiqError(error, 'E_STATE_TOO_LARGE');
    this.#tidying = retryUntilDone(tidy, {
      signal: this.#stopped.signal,
      giveUp: tooMany,
      onError: (error, retryInMs, attempt) => {
        log.warn(
          { event: 'mqtt.subscriptions_untidy', err: error, retryInMs, attempt },
          'could not check the filters an earlier run subscribed (state store or broker unavailable); trying again',
        );
      },
    }).catch((error: unknown) => {
      // stopped meanwhile: the next start tidies
      if (!tooMany(error)) return;
      log.error(
        { event: 'mqtt.subscriptions_unkept', err: error, filters: wanted.length },
        "this run's filters are too many to keep in the state store: filters of earlier runs that no route " +
          'asks for now stay subscribed on the broker (a persistent session keeps them); unsubscribe them by hand',
      );
    });
  }

  /** The background tidying of subscriptions (resolves when done, or given up at stop): for tests. */
  get tidied(): Promise<void> {
    return this.#tidying;
  }

  /**
   * Publishes from the application (to the embedded broker's clients, or via the connection).
   * A topic that is no topic name (a wildcard, say) is refused with `E_INVALID_TOPIC`.
   */
  readonly publish: Publisher = async (topic, payload, options = {}) => {
    assertTopicName(topic);
    if (this.#connection) {
      await this.#connection.publish(topic, payload, options);
      return;
    }
    const broker = this.#broker;
    if (!broker) throw new Error('the MQTT gateway is not started');
    await new Promise<void>((resolve, reject) => {
      broker.aedes.publish(
        {
          cmd: 'publish',
          topic,
          payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
          qos: options.qos ?? 0,
          retain: options.retain ?? false,
          dup: false,
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  };

  /**
   * Stops taking messages but keeps publishing, until {@link stop}: the connection stops handing
   * messages on, first waiting up to `drainTimeoutMs` for those being handled to be acknowledged
   * (later ones stay unacknowledged with the broker), or the embedded broker holds every new
   * publish unacknowledged and waits as long for those being handled. A connection that is not
   * online is closed at once.
   */
  async stopIntake(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#stopped.abort(); // ends the tidying's retries, and a start under way closes what it opens
    // the embedded broker holds every new publish, and gives those being handled the drain time
    await this.#broker?.stopIntake(options.drainTimeoutMs);
    const connection = this.#connection;
    if (connection === undefined) return;
    // not online (still reaching its broker, or reconnecting): nothing to drain nor publish on
    if (!connection.isOnline) {
      await this.stop();
      return;
    }
    // Asked to (MQTT_SHARED_LEAVE_ON_STOP): the other members of each shared group take its
    // messages from now on, rather than the broker queueing some for this session, which takes
    // none until its next run. Not by default: a lone instance, once it left, would have the
    // broker acknowledge and drop every message until it is back. The plain filters always stay.
    if (this.#shared.length > 0 && this.#options.settings.sharedLeaveOnStop) {
      const unsubscribed = connection.unsubscribe(this.#shared);
      await withDeadline(unsubscribed, SHARED_UNSUBSCRIBE_MS, 'no UNSUBACK').catch(() => {});
    }
    await connection.stopIntake(options.drainTimeoutMs);
  }

  /**
   * Stops taking messages: closes the connection (unacknowledged messages stay with the broker)
   * or the broker. With `drainTimeoutMs`, an external broker's connection first waits up to that
   * long for the messages being handled, so that those whose jobs are stored get their
   * acknowledgement instead of coming again (and being handled again) after the restart.
   */
  async stop(options: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#stopped.abort(); // ends the tidying's retries; the next start tidies
    // taken before any await: what a start under way sets meanwhile, it closes itself
    const connection = this.#connection;
    const broker = this.#broker;
    this.#connection = undefined;
    this.#broker = undefined;
    await connection?.close(options);
    await broker?.close();
  }
}
