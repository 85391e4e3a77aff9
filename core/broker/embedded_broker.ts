/**
 * The embedded MQTT broker: aedes on a plain TCP server, with authentication, per-device
 * topic ACLs, a `beforeAck` hook and one structured log line per client event. Used when
 * no external broker is configured; `close()` leaves no socket, timer or port behind.
 */
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import type { EventEmitter } from 'node:events';
import { Aedes, type AedesOptions, type Client, type PublishPacket } from 'aedes';
import { BrokerPortInUseError, BrokerUnavailableError, InvalidOptionError } from '../errors.js';
import type { Logger } from '../logger.js';
import { MAX_TIMER_MS } from '../support/timers.js';
import {
  type AccessControl,
  type BeforeAck,
  createAccessControl,
  type DeviceClientIds,
} from './access_control.js';
import { deliveryAcl } from './delivery_acl.js';
import {
  DEFAULT_INCOMING_LIMITS,
  type IncomingQos2Limit,
  type IncomingStore,
  limitIncomingQos2,
} from './incoming_qos2_limit.js';
import { assertPersistenceFree, leasePersistence } from './persistence_lease.js';
import { slowReaders } from './slow_readers.js';
import { type DeviceCredentials, principalLogFields } from './principal.js';
import { DEFAULT_MAX_PACKET_BYTES, PACKET_LIMIT_RANGE, PacketSizeGuard } from './packet_size_guard.js';
import { removeRefusedRestores, type RestoredSubscriptionStore } from './restored_subscriptions.js';
import { DEFAULT_RETAINED_LIMITS, type RetainedLimits } from './retained_budget.js';
import { DEFAULT_SESSION_LIMITS, type SessionLimits } from './session_limits.js';
import {
  DEFAULT_QUEUE_LIMITS,
  limitOutgoingQueues,
  type OutgoingQueueLimit,
  type OutgoingStore,
  type QueueLimits,
} from './outgoing_queue_limit.js';
import { type DeviceAclTemplates, defaultDeviceAcl, validateAclTemplates } from './topic_acl.js';

/** aedes options that may be passed through; the access hooks are the broker's own. */
export type PassThroughAedesOptions = Omit<
  AedesOptions,
  'authenticate' | 'authorizePublish' | 'authorizeSubscribe' | 'preConnect'
>;

/** Options of {@link startEmbeddedBroker}. */
export interface EmbeddedBrokerOptions {
  /** TCP port; `0` picks a free one (read it back from `EmbeddedBroker.port`). */
  readonly port: number;
  /** Interface to listen on. Default `'0.0.0.0'` (devices connect from the network). */
  readonly host?: string;
  readonly logger: Logger;
  /** Checks usernames and passwords; see `staticCredentials()`. */
  readonly credentials?: DeviceCredentials;
  /**
   * Accept clients that send no username and password, as privileged service clients
   * that may use any topic. For development only. Default `false`.
   */
  readonly allowAnonymous?: boolean;
  /** Device topic templates; each list given replaces its default from `defaultDeviceAcl`. */
  readonly acl?: Partial<DeviceAclTemplates>;
  /** Runs before a publishing client is acknowledged; see {@link BeforeAck}. */
  readonly beforeAck?: BeforeAck;
  /**
   * Largest packet a client may send, in bytes of its remaining length (default 1 MiB); a larger
   * one closes its connection as soon as its header arrives. A CONNECT, which comes before
   * authentication, may be at most 64 KiB.
   */
  readonly maxPacketBytes?: number;
  /**
   * Retained messages each device may hold: topics and payload bytes over all of them (default
   * 32 topics, 64 KiB). A retained publish beyond them is delivered but not retained.
   */
  readonly retained?: RetainedLimits;
  /**
   * Messages held for each client with a persistent session, sent or waiting, until it
   * acknowledges them: count and payload bytes (default 1,000 and 16 MiB). Past them a message
   * for that client is dropped for it.
   */
  readonly queues?: QueueLimits;
  /**
   * QoS 2 messages held from each client id between their PUBLISH and PUBREL, and from all of
   * one device's together: count and payload bytes (default 1,000 and 16 MiB). Past them a new
   * QoS 2 message closes the connection (see `limitIncomingQos2`).
   */
  readonly incoming?: QueueLimits;
  /**
   * Which client ids a device may connect with: `any` (default) or `device-id`, its own device
   * id only. See {@link DeviceClientIds}.
   */
  readonly deviceClientIds?: DeviceClientIds;
  /**
   * Client ids each device may hold at once, connected or kept by a persistent session, and
   * subscriptions each of them may hold (default 10 and 100). Past them a CONNECT under a new
   * client id is refused (CONNACK 5), a SUBSCRIBE answered with 128. See {@link SessionLimits}.
   */
  readonly sessions?: SessionLimits;
  /**
   * Advanced aedes settings (persistence, timeouts, limits). Which account holds each client id
   * is kept in the app's memory only: with a `persistence` that outlives the app (or that two
   * apps share), a device may resume another account's persistent session under its client id
   * after a restart. It is sent none of that session's messages outside its own topic ACL (they
   * are dropped), the session's subscriptions it is refused are removed from it, and a warning is logged at start-up unless `deviceClientIds` is `device-id`,
   * which keeps devices to their own ids.
   */
  readonly aedes?: PassThroughAedesOptions;
}

/** A running embedded broker. */
export interface EmbeddedBroker {
  /** Where clients connect, e.g. `mqtt://127.0.0.1:1883` (a wildcard host becomes loopback). */
  readonly url: string;
  readonly host: string;
  /** The port actually listened on (useful with `port: 0`). */
  readonly port: number;
  /** The aedes instance, for advanced use (events, `publish` on behalf of the server). */
  readonly aedes: Aedes;
  /**
   * Stops handing device publishes to the app's `beforeAck`: each is left unacknowledged (sent
   * again by the device to the next run), while the broker goes on serving subscribers, so the
   * app can still publish (the job events of a stopping server's last jobs). Resolves once the
   * publishes being handed to `beforeAck` settled, or after `drainTimeoutMs` (default: at
   * once), so that those whose jobs are stored get their acknowledgement. Then {@link close}.
   */
  stopIntake(drainTimeoutMs?: number): Promise<void>;
  /** Disconnects every client, stops listening and closes aedes. Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Starts aedes on `host:port`. Rejects with `BrokerPortInUseError` when the port is
 * taken, `BrokerUnavailableError` for other listen failures and `InvalidOptionError`
 * for bad options.
 *
 * @example
 * const broker = await startEmbeddedBroker({
 *   port: Number(process.env.MQTT_BROKER_PORT ?? 1883),
 *   logger,
 *   credentials: staticCredentials([{ username: 'sensor-1', password: hash, deviceId: 'sensor-1' }]),
 *   acl: { subscribe: [...defaultDeviceAcl.subscribe, 'firmware/{deviceId}/#'] },
 *   beforeAck: async (message) => inbox.store(message),
 * });
 * // ... later, on shutdown:
 * await broker.close();
 */
export async function startEmbeddedBroker(options: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  const host = options.host ?? '0.0.0.0';
  const allowAnonymous = options.allowAnonymous ?? false;
  const acl: DeviceAclTemplates = { ...defaultDeviceAcl, ...options.acl };
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new InvalidOptionError(`MQTT broker port must be an integer from 0 to 65535, got ${options.port}.`);
  }
  if (options.credentials === undefined && !allowAnonymous) {
    throw new InvalidOptionError(
      'The embedded MQTT broker has no credentials and allowAnonymous is off, so no client could connect; ' +
        'pass credentials (see staticCredentials()) or allowAnonymous: true for development.',
    );
  }
  validateAclTemplates(acl);
  const { deviceClientIds = 'any' } = options;
  if (deviceClientIds !== 'any' && deviceClientIds !== 'device-id') {
    throw new InvalidOptionError(
      `MQTT broker deviceClientIds must be 'any' or 'device-id', got ${JSON.stringify(deviceClientIds)}.`,
    );
  }
  const { maxPacketBytes = DEFAULT_MAX_PACKET_BYTES } = options;
  const { min, max } = PACKET_LIMIT_RANGE;
  if (!Number.isInteger(maxPacketBytes) || maxPacketBytes < min || maxPacketBytes > max) {
    throw new InvalidOptionError(
      `MQTT broker maxPacketBytes must be a whole number of bytes from ${min} to ${max} (MQTT's limit), got ${maxPacketBytes}.`,
    );
  }

  const drainTimeout = (options.aedes as { drainTimeout?: unknown } | undefined)?.drainTimeout;
  if (
    drainTimeout !== undefined &&
    !(typeof drainTimeout === 'number' && drainTimeout > 0 && drainTimeout <= MAX_TIMER_MS)
  ) {
    // deliveries do not wait for a client's socket (slow_readers.ts): this timeout is what
    // closes a client that reads nothing, and bounds the writes waiting for it
    throw new InvalidOptionError(
      `MQTT broker aedes.drainTimeout must be a positive number of ms up to ${MAX_TIMER_MS} (aedes's default is 60000), got ${String(drainTimeout)}: it closes a client that reads nothing.`,
    );
  }
  const retained = options.retained ?? DEFAULT_RETAINED_LIMITS;
  const queues = options.queues ?? DEFAULT_QUEUE_LIMITS;
  const incoming = options.incoming ?? DEFAULT_INCOMING_LIMITS;
  const sessions = options.sessions ?? DEFAULT_SESSION_LIMITS;
  for (const [group, limits] of Object.entries({ retained, queues, incoming, sessions })) {
    for (const [name, value] of Object.entries(limits)) {
      const least = name === 'maxClientIds' ? 1 : 0;
      if (!Number.isSafeInteger(value) || value < least) {
        throw new InvalidOptionError(
          `MQTT broker ${group}.${name} must be a whole number of ${least} or more, got ${value}.`,
        );
      }
    }
  }

  const logger = options.logger.child({ component: 'mqtt-broker' });
  // The hooks are built before aedes, and ask it (its persistence, its queue limit) once it
  // exists: no hook runs before createBroker has resolved.
  let store: AedesInternals['persistence'] | undefined;
  let queueLimit: OutgoingQueueLimit | undefined;
  let incomingLimit: IncomingQos2Limit | undefined;
  const access = createAccessControl({
    credentials: options.credentials,
    allowAnonymous,
    acl,
    beforeAck: options.beforeAck,
    logger,
    heldQos2: (client, packet) => holdsQos2(store!, client, packet),
    incomingQos2: () => incomingLimit,
    retained,
    deviceClientIds,
    sessions,
  });
  const givenPersistence: unknown = options.aedes?.persistence;
  if (typeof givenPersistence === 'object' && givenPersistence !== null) {
    assertPersistenceFree(givenPersistence);
  }
  if (givenPersistence !== undefined && deviceClientIds === 'any') {
    logger.warn(
      { event: 'broker.persistence_shared', deviceClientIds },
      "mqtt broker given a persistence of its own, which does not keep the account holding each client id: after a restart a device may resume another account's persistent session (its messages outside the device's topic ACL are dropped, not sent); set MQTT_BROKER_CLIENT_IDS=device-id (deviceClientIds) to keep devices to their own ids",
    );
  }
  const forward = options.aedes?.authorizeForward;
  const mayDeliver = deliveryAcl(access, logger);
  const readers = slowReaders(queues.maxBytes, logger);
  const aedes = await Aedes.createBroker({
    ...options.aedes,
    ...access.hooks,
    authorizeForward: (client, packet) => {
      // a message dropped for a client whose queue is full is not delivered to it live either
      // (checked first: that drop expects aedes's clear of it, see OutgoingQueueLimit.forwards)
      if (queueLimit?.forwards(client.id, packet) === false) return null;
      // the only check on the queued messages of a resumed session (see delivery_acl.ts)
      if (!mayDeliver(client, packet.topic, packet.qos)) return null;
      if (!readers.mayWrite(client)) return null;
      return forward ? forward(client, packet) : packet;
    },
  });
  readers.install(aedes);
  const { persistence, clients } = aedes as unknown as AedesInternals;
  let givePersistenceBack: () => void;
  try {
    givePersistenceBack = leasePersistence(persistence);
  } catch (error) {
    await closeAedes(aedes); // another broker took it while this one started
    throw error;
  }
  store = persistence;
  const limit = limitOutgoingQueues(
    persistence,
    queues,
    logger,
    (clientId) => clients[clientId] !== undefined,
    (clientId) => access.deviceAccountOf(clientId),
  );
  queueLimit = limit;
  incomingLimit = limitIncomingQos2(persistence, incoming, logger, (clientId) =>
    access.deviceAccountOf(clientId),
  );
  aedes.on('clientDisconnect', (client) => limit.disconnected(client.id));
  aedes.on('unsubscribe', (filters, client) => access.unsubscribed(client, filters));
  followRetainedStores(persistence, access);
  storeGrantedSubscriptionsOnly(persistence, access);
  removeRefusedRestores(aedes, persistence, access, logger);
  logClientEvents(aedes, access, logger);

  const server = createServer((socket) => readers.adopt(aedes.handle(socket)));
  // Sockets that never send CONNECT are unknown to aedes; close() must end them too.
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    // aedes reads with 'readable', which keeps control of the flow: this sees what aedes reads
    const guard = new PacketSizeGuard(maxPacketBytes);
    const check = (chunk: Buffer) => {
      const problem = guard.push(chunk);
      if (!problem) return;
      socket.off('data', check);
      logger.warn(
        { event: 'broker.packet_refused', remoteAddress: socket.remoteAddress, ...problem },
        problem.reason === 'too-large'
          ? 'mqtt packet over the size limit: connection closed'
          : 'mqtt packet with a malformed length: connection closed',
      );
      socket.destroy();
    };
    socket.on('data', check);
  });

  try {
    await listen(server, host, options.port);
  } catch (error) {
    await closeAedes(aedes);
    givePersistenceBack();
    throw error;
  }
  server.on('error', (error) =>
    logger.error({ event: 'broker.server_error', err: error }, 'mqtt server error'),
  );

  const port = (server.address() as AddressInfo).port;
  const url = `mqtt://${urlHost(host)}:${port}`;
  logger.info({ event: 'broker.listening', host, port, url }, 'embedded mqtt broker listening');

  let closing: Promise<void> | undefined;
  const shutdown = async (): Promise<void> => {
    access.closing();
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await closeAedes(aedes);
    givePersistenceBack();
    for (const socket of sockets) socket.destroy();
    await serverClosed;
    logger.info({ event: 'broker.closed', host, port }, 'embedded mqtt broker closed');
  };

  return {
    url,
    host,
    port,
    aedes,
    stopIntake(drainTimeoutMs) {
      return access.stopIntake(drainTimeoutMs);
    },
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(listenError(error, host, port));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port });
  });
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') {
    return new BrokerPortInUseError(
      `Port ${port} on ${host} is already in use, probably by another MQTT broker (e.g. Mosquitto), ` +
        'so the embedded MQTT broker cannot start. Either set MQTT_BROKER_PORT (or serve --port) to another port for the ' +
        `embedded broker, or set MQTT_URL=mqtt://127.0.0.1:${port} to use that broker instead of the embedded one. ` +
        "If it is another Topiq app's embedded broker (this app started twice?), stop that one, or use it with " +
        'MQTT_PROTOCOL_VERSION=4 and MQTT_SHARED_SUBSCRIPTIONS=false (it speaks MQTT 3.1.1 without shared ' +
        'subscriptions) and the MQTT_USERNAME and MQTT_PASSWORD of a service account in its MQTT_SERVICE_ACCOUNTS ' +
        '(any other name is a device there).',
      { cause: error },
    );
  }
  return new BrokerUnavailableError(
    `The embedded MQTT broker could not listen on ${host}:${port} (${error.code ?? error.message}); ` +
      'check that the host is an address of this machine and that the port is allowed (ports below 1024 need privileges).',
    { cause: error },
  );
}

/** The part of an aedes persistence that keeps the QoS 2 messages it accepted until their PUBREL. */
interface IncomingLookup {
  incomingGetPacket(client: Client, packet: PublishPacket): Promise<unknown>;
}

/** What the broker uses of aedes that aedes's types leave out (set by aedes at start-up). */
interface AedesInternals {
  persistence: IncomingLookup &
    IncomingStore &
    OutgoingStore &
    RetainedStore &
    SubscriptionStore &
    RestoredSubscriptionStore;
  /** Connected clients by id. */
  clients: Record<string, unknown>;
}

/**
 * Whether aedes holds `packet`'s QoS 2 packet id for `client`: stored when it was accepted,
 * deleted at its PUBREL. aedes's persistence (any of them) rejects when it holds no such id.
 */
async function holdsQos2(
  persistence: IncomingLookup,
  client: Client,
  packet: PublishPacket,
): Promise<boolean> {
  try {
    await persistence.incomingGetPacket(client, packet);
    return true;
  } catch {
    return false;
  }
}

/** The part of an aedes persistence that stores the subscriptions of persistent sessions. */
interface SubscriptionStore {
  addSubscriptions(client: Client, subscriptions: object[]): Promise<void>;
}

/**
 * Has aedes's persistence store only the subscriptions the access hooks granted. For a persistent
 * session, aedes 1.x stores a SUBSCRIBE's whole list each time one of its filters is granted
 * (`storeSubscriptions` in `lib/handlers/subscribe.js`), refused ones included: a filter the
 * topic ACL or the subscription limit refused would then take messages for the client while it
 * is offline, delivered when it comes back, and be kept in memory past the limit.
 */
function storeGrantedSubscriptionsOnly(store: SubscriptionStore, access: AccessControl): void {
  const addSubscriptions = store.addSubscriptions.bind(store);
  store.addSubscriptions = async (client, subscriptions) => {
    const granted = subscriptions.filter((subscription) => access.granted(subscription));
    if (granted.length > 0) await addSubscriptions(client, granted);
  };
}

/** The part of an aedes persistence that stores retained messages. */
interface RetainedStore {
  storeRetained(packet: { topic: string; payload: Buffer | string }): Promise<void>;
}

/**
 * Has every retained message aedes stores reach the retained budget, the app's own publishes
 * (`aedes.publish`, which asks no `authorizePublish`) included, so that one clearing or
 * replacing a device's retained message frees its place.
 */
function followRetainedStores(store: RetainedStore, access: AccessControl): void {
  const storeRetained = store.storeRetained.bind(store);
  store.storeRetained = async (packet) => {
    await storeRetained(packet);
    access.retainedStored(packet);
  };
}

function closeAedes(aedes: Aedes): Promise<void> {
  return new Promise((resolve) => aedes.close(() => resolve()));
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/** One log line per client event; refusals were already logged by the access hooks. */
function logClientEvents(aedes: Aedes, access: AccessControl, logger: Logger): void {
  const who = (client: Client) => ({
    clientId: client.id,
    ...principalLogFields(access.principalOf(client)),
  });
  aedes.on('clientReady', (client) => {
    access.established(client);
    const remoteAddress = 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined;
    logger.info({ event: 'broker.client_connected', ...who(client), remoteAddress }, 'mqtt client connected');
  });
  aedes.on('clientDisconnect', (client) => {
    logger.info({ event: 'broker.client_disconnected', ...who(client) }, 'mqtt client disconnected');
    access.released(client);
  });
  aedes.on('clientError', (client, error) => {
    if (access.wasLogged(error)) return;
    logger.warn({ event: 'broker.client_error', ...who(client), err: error }, 'mqtt client error');
  });
  aedes.on('connectionError', (client, error) => {
    if (access.wasLogged(error)) return;
    logger.warn(
      { event: 'broker.connection_error', clientId: client.id, err: error },
      'mqtt connection error',
    );
  });
  // aedes emits 'error' for failures of its own (stale will cleanup); unhandled it would crash.
  const emitter: EventEmitter = aedes;
  emitter.on('error', (error: Error) =>
    logger.error({ event: 'broker.error', err: error }, 'mqtt broker error'),
  );
}
