/**
 * The aedes hooks that decide who may connect and which topics each client may use,
 * plus the `beforeAck` hook that lets the application persist a message before the
 * publishing device is acknowledged.
 *
 * How aedes treats a refusal (read from aedes 1.2 `lib/handlers/publish.js` and
 * `lib/client.js`): when `authorizePublish` calls back with an error, for QoS 0, 1 and
 * 2 alike, the message is neither acknowledged nor forwarded, aedes emits `clientError`
 * and closes that client's connection (MQTT 3.1.1 has no negative PUBACK). The broker
 * keeps running. A QoS 1/2 message is therefore redelivered when the device reconnects.
 * A refused subscription is answered with granted QoS 128 in the SUBACK.
 */
import type { AedesOptions, AuthenticateError, AuthErrorCode, Client, PublishPacket } from 'aedes';
import type { Logger } from '../logger.js';
import { withDeadline } from '../support/timers.js';
import { type DeviceCredentials, type Principal, principalLogFields } from './principal.js';
import { ClientIdHolders, type DeviceClientIds, accountOf } from './client_id_holders.js';
import { IDENTIFIER_REJECTED, SERVER_UNAVAILABLE } from './connack_codes.js';
import { createCredentialCheck, LOGIN_CHECK_TIMEOUT_MS } from './credential_check.js';
import { type IncomingQos2Limit, Qos2LimitRefusal } from './incoming_qos2_limit.js';
import { payloadBytes } from './outgoing_queue_limit.js';
import { type HeldQos2, type Qos2Admission, Qos2Resends } from './qos2_resends.js';
import { RetainedBudget, type RetainedLimits } from './retained_budget.js';
import { DEFAULT_SESSION_LIMITS, type SessionLimits, SubscriptionBudget } from './session_limits.js';
import { type DeviceAclTemplates, DeviceTopicRules } from './topic_acl.js';

/** A client's publish as `beforeAck` sees it, before the client is acknowledged. */
export interface IncomingPublish {
  readonly topic: string;
  readonly payload: Buffer;
  readonly qos: 0 | 1 | 2;
  readonly retain: boolean;
  /** True when the client says this is a redelivery of a message it sent before. */
  readonly dup: boolean;
  readonly clientId: string;
  readonly principal: Principal;
}

/**
 * Runs after the ACL allowed a publish and before the client gets its PUBACK (QoS 1) or
 * PUBREC (QoS 2), and before the message reaches subscribers. Rejecting refuses the
 * publish: it is logged, the client is disconnected and will redeliver QoS 1/2 later.
 * Runs for every client publish, services included (check `principal.kind`), and for the
 * last wills the broker publishes for clients that went away: a will has no acknowledgement to
 * hold back, so it is delivered to subscribers without waiting for the hook, and a rejection
 * is only logged (`mqtt last will not routed`).
 */
export type BeforeAck = (message: IncomingPublish) => Promise<void>;

/** What {@link createAccessControl} needs. */
export interface AccessControlSettings {
  readonly credentials: DeviceCredentials | undefined;
  readonly allowAnonymous: boolean;
  readonly acl: DeviceAclTemplates;
  readonly beforeAck: BeforeAck | undefined;
  readonly logger: Logger;
  /**
   * Whether the broker holds a QoS 2 packet id for a client (accepted, waiting for PUBREL), so
   * a resend of it is not routed again (see {@link Qos2Resends}). Without it, only resends that
   * arrive while the first copy is being routed are known.
   */
  readonly heldQos2?: HeldQos2;
  /**
   * The bound on QoS 2 messages awaiting PUBREL (`limitIncomingQos2`), asked before a new one is
   * routed; none when unset.
   */
  readonly incomingQos2?: () => IncomingQos2Limit | undefined;
  /** Retained messages each device may hold (default {@link DEFAULT_RETAINED_LIMITS}). */
  readonly retained?: RetainedLimits;
  /** Which client ids a device may connect with (default `any`); see {@link DeviceClientIds}. */
  readonly deviceClientIds?: DeviceClientIds;
  /** Client ids and subscriptions each device may hold (default {@link DEFAULT_SESSION_LIMITS}). */
  readonly sessions?: SessionLimits;
  /** How long a credential check may take (default {@link LOGIN_CHECK_TIMEOUT_MS}). */
  readonly loginTimeoutMs?: number;
}

export type { DeviceClientIds } from './client_id_holders.js';

/** The hooks to hand to aedes, and what the broker needs to log about its clients. */
export interface AccessControl {
  readonly hooks: Required<
    Pick<AedesOptions, 'preConnect' | 'authenticate' | 'authorizePublish' | 'authorizeSubscribe'>
  >;
  /** The principal of an authenticated client. */
  principalOf(client: Client): Principal | undefined;
  /** The device account holding `clientId` (`device:<id>`), or undefined for a service's or none. */
  deviceAccountOf(clientId: string): string | undefined;
  /** True for errors this module already logged when it handed them to aedes. */
  wasLogged(error: Error): boolean;
  /**
   * Notes that aedes accepted the connection of `client` (`clientReady`): from then on a
   * persistent session (`clean: false`) keeps its client id for its account when it goes.
   */
  established(client: Client): void;
  /**
   * Frees the client id of `client`, whose connection ended, for other accounts, unless an
   * established persistent session of its account lives on or another connection of it uses
   * the id. Called for every authenticated connection that ends, accepted by aedes or not.
   */
  released(client: Client): void;
  /** Notes that `client` unsubscribed `filters` (aedes's `unsubscribe` event). */
  unsubscribed(client: Client, filters: readonly string[]): void;
  /**
   * Tells the retained budget that aedes stored `packet` as retained. A store that did not come
   * through `authorizePublish` as a device's (the app's own `aedes.publish`) frees its topic
   * from the device that held it, as a service's retained publish does.
   */
  retainedStored(packet: { topic: string; payload: Buffer | string }): void;
  /**
   * Whether `client` may be sent a message on the topic name `topic`: a service may be sent any,
   * a device one it may subscribe to (the SUBSCRIBE check, on the topic as a filter), a client
   * the hooks did not authenticate none. See `deliveryAcl`.
   */
  mayReceive(client: Client, topic: string): boolean;
  /** Whether `authorizeSubscribe` granted this subscription object (aedes passes the packet's own). */
  granted(subscription: object): boolean;
  /**
   * Notes that the broker is closing: aedes then closes every client without a DISCONNECT, and
   * their last wills are not routed (the app is stopping; they were not sent by devices going
   * away).
   */
  closing(): void;
  /**
   * Stops handing publishes to `beforeAck` (the app is stopping and takes no more messages): each
   * is held unacknowledged, neither routed nor forwarded, for the device to send again to the
   * next run; last wills are forwarded without being routed. Subscribers are still served.
   * Resolves once the publishes being handed to `beforeAck` have settled (acknowledged, or
   * refused for the device to send again), or after `drainTimeoutMs` (default: at once).
   */
  stopIntake(drainTimeoutMs?: number): Promise<void>;
}

interface Session {
  readonly principal: Principal;
  /** `undefined` for services, which may use any topic. */
  readonly rules: DeviceTopicRules | undefined;
}

function remoteAddress(client: Client): string | undefined {
  return 'remoteAddress' in client.conn ? client.conn.remoteAddress : undefined;
}

/** Builds the authentication and authorization hooks for one broker. */
export function createAccessControl(settings: AccessControlSettings): AccessControl {
  const { credentials, allowAnonymous, acl, beforeAck, logger, deviceClientIds = 'any' } = settings;
  const { maxClientIds, maxSubscriptions } = settings.sessions ?? DEFAULT_SESSION_LIMITS;
  const { loginTimeoutMs = LOGIN_CHECK_TIMEOUT_MS } = settings;
  const subscriptions = new SubscriptionBudget(maxSubscriptions);
  /** Clients that sent an empty client id with clean session off (seen by `preConnect`). */
  const idlessPersistent = new WeakSet<Client>();
  const resends = new Qos2Resends(settings.heldQos2 ?? (async () => false));
  const retained = new RetainedBudget(settings.retained);
  const sessions = new WeakMap<Client, Session>();
  const logged = new WeakSet<Error>();
  /** Payloads of the devices' retained publishes the budget counted as it accepted them. */
  const counted = new WeakSet<Buffer>();
  /** The account that holds each client id (see {@link ClientIdHolders}). */
  const holders = new ClientIdHolders({
    maxClientIds,
    deviceClientIds,
    refuse: (returnCode, reason) => authError(returnCode, reason),
    sessionEnded: (clientId) => subscriptions.clear(clientId),
  });
  /** The subscription objects `authorizeSubscribe` granted. */
  const grantedSubscriptions = new WeakSet<object>();
  let closing = false;
  let intakeStopped = false;
  /** The publishes being handed to `beforeAck`, for a stop to wait for (see `stopIntake`). */
  const handling = new Set<Promise<unknown>>();

  function refusal(message: string, options?: { cause?: unknown }): Error {
    const error = new Error(message, options);
    logged.add(error);
    return error;
  }

  function authError(returnCode: AuthErrorCode, reason: string, cause?: unknown): AuthenticateError {
    return Object.assign(refusal(reason, { cause }), { returnCode });
  }

  const preConnect: AccessControl['hooks']['preConnect'] = (client, packet, callback) => {
    if (packet.clientId === '' && !packet.clean) idlessPersistent.add(client);
    callback(null, true);
  };

  const resolvePrincipal = createCredentialCheck({ credentials, allowAnonymous, loginTimeoutMs, authError });

  const authenticate: AccessControl['hooks']['authenticate'] = (client, username, password, done) => {
    Promise.resolve()
      .then(() => {
        // MQTT-3.1.3-8: aedes would name it aedes_<uuid>, a persistent session nobody can resume
        if (idlessPersistent.has(client)) {
          throw authError(
            IDENTIFIER_REJECTED,
            'an empty client id with clean session off: a persistent session needs a client id of its own; send one, or connect with clean session on',
          );
        }
        return resolvePrincipal(client, username, password);
      })
      .then((principal) => {
        holders.claim(client, principal);
        return principal;
      })
      .then(
        (principal) => {
          const rules =
            principal.kind === 'device' ? new DeviceTopicRules(acl, principal.deviceId) : undefined;
          sessions.set(client, { principal, rules });
          done(null, true);
        },
        (error: AuthenticateError & { busy?: boolean }) => {
          // a failing store is the app's problem; a busy one, the client's (or an attacker's)
          const level = error.returnCode === SERVER_UNAVAILABLE && !error.busy ? 'error' : 'warn';
          logger[level](
            {
              clientId: client.id,
              username,
              reason: error.message,
              returnCode: error.returnCode,
              remoteAddress: remoteAddress(client),
              err: error.cause,
            },
            'mqtt client refused at authentication',
          );
          done(error, false);
        },
      )
      .catch((error: unknown) =>
        logger.error(
          { event: 'broker.callback_failed', clientId: client.id, err: error },
          'mqtt authenticate callback threw',
        ),
      );
  };

  /**
   * Routes a new QoS 2 message once the bound on those awaiting PUBREL admits it; refused
   * (`Qos2LimitRefusal`) past it, before it is routed. One that fails to route gives its place back.
   */
  async function admitQos2(client: Client, packet: PublishPacket, route: () => Promise<void>): Promise<void> {
    const limit = settings.incomingQos2?.();
    const { messageId } = packet;
    if (limit === undefined || messageId === undefined) return route();
    // a copy without DUP of a packet id held already: aedes keeps the first, and so does the count
    const held = limit.holds(client.id, messageId);
    if (!limit.admit(client.id, messageId, payloadBytes(packet.payload))) {
      throw new Qos2LimitRefusal(limit.refusal);
    }
    try {
      await route();
    } catch (error) {
      if (!held) limit.forget(client.id, messageId); // not stored: aedes refuses it
      throw error;
    }
  }

  function runBeforeAck(client: Client, packet: PublishPacket, session: Session, hook: BeforeAck) {
    const message: IncomingPublish = {
      topic: packet.topic,
      payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      qos: packet.qos,
      retain: packet.retain,
      dup: packet.dup,
      clientId: client.id,
      principal: session.principal,
    };
    // Promise.resolve().then: a hook that throws synchronously is a rejection too.
    return Promise.resolve().then(() => hook(message));
  }

  const authorizePublish: AccessControl['hooks']['authorizePublish'] = (client, packet, callback) => {
    // aedes passes null only for a stale last will of a client it no longer knows.
    if (client === null) {
      logger.warn(
        { event: 'broker.will_refused', topic: packet.topic },
        'mqtt last will of an unknown client refused',
      );
      callback(refusal('last will of an unknown client'));
      return;
    }
    // A client that is already closed is having its last will published.
    const isWill = client.closed;
    const session = sessions.get(client);
    const fields = { clientId: client.id, ...principalLogFields(session?.principal), topic: packet.topic };
    // the broker's own topics (`$SYS` and all under it), and a topic with NUL, which MQTT
    // forbids (aedes lets it through, on to the app's routes and subscribers)
    const reserved =
      packet.topic === '$SYS' || packet.topic.startsWith('$SYS/') || packet.topic.includes('\u0000');
    if (
      session === undefined ||
      reserved ||
      (session.rules !== undefined && !session.rules.canPublish(packet.topic))
    ) {
      logger.warn(
        { event: 'broker.publish_refused', ...fields, qos: packet.qos, will: isWill },
        'mqtt publish refused by topic ACL',
      );
      callback(refusal(`publish to ${packet.topic} is not allowed`));
      return;
    }
    /** Accepts the publish, keeping it retained only within the device's retained budget. */
    const accept = () => {
      if (packet.retain) {
        const { principal } = session;
        const account = principal.kind === 'device' ? accountOf(principal) : undefined;
        const payload = packet.payload;
        const refused = retained.retain(account, packet.topic, payloadBytes(payload));
        if (refused) {
          packet.retain = false;
          logger.warn(
            { event: 'broker.retain_refused', ...fields, ...refused, will: isWill },
            'mqtt publish delivered but not retained: the device holds its limit of retained messages',
          );
        } else if (account !== undefined && Buffer.isBuffer(payload) && payload.length > 0) {
          counted.add(payload);
        }
      }
      callback(null);
    };
    if (beforeAck === undefined) {
      accept();
      return;
    }
    if (isWill && (closing || intakeStopped)) {
      accept(); // the broker is closing every client, or the app takes no more messages
      return;
    }
    // held: no PUBACK, so the device sends it again to the next run (one at QoS 0 is lost, as it
    // would be once the broker closes)
    if (intakeStopped) return;
    if (isWill) {
      // A last will has no acknowledgement to hold back and no sender to send it again: it is
      // routed beside its delivery (the message is read now, before accept() may change it).
      // The app's hook waits out a storage outage itself, so it rejects only when stopping.
      runBeforeAck(client, packet, session, beforeAck).catch((error: unknown) =>
        logger.error(
          { event: 'broker.will_not_routed', ...fields, qos: packet.qos, will: true, err: error },
          'mqtt last will not routed: beforeAck failed',
        ),
      );
      accept();
      return;
    }
    const route = () => runBeforeAck(client, packet, session, beforeAck);
    const admitted: Promise<Qos2Admission> =
      packet.qos === 2
        ? resends.admit(client, packet, () => admitQos2(client, packet, route))
        : route().then(() => 'routed');
    const answered = admitted
      .then(
        (admission) => {
          if (admission === 'resend') {
            logger.info(
              { event: 'broker.qos2_resend', ...fields, messageId: packet.messageId },
              'mqtt QoS 2 resend of a message already accepted: not routed again',
            );
            // aedes answers it with a PUBREC and neither forwards nor retains it; should it forward
            // it after all (a persistence slower than its in-memory default), the copy must not be
            // retained past the device's budget, and the first copy already retained what it could
            packet.retain = false;
            callback(null);
          } else {
            accept();
          }
        },
        (error: unknown) => {
          if (error instanceof Qos2LimitRefusal) {
            callback(refusal(error.message)); // logged as it was refused
            return;
          }
          if (intakeStopped) {
            // the app stopped before it stored the message (Redis away, say): not an outage of
            // its own to report, and the device sends it again to the next run
            logger.info(
              { event: 'broker.publish_held_at_stop', ...fields, qos: packet.qos, err: error },
              'mqtt publish left unacknowledged: the app stopped before it was stored',
            );
          } else {
            logger.error(
              { event: 'broker.publish_not_stored', ...fields, qos: packet.qos, err: error },
              'mqtt publish refused: beforeAck failed',
            );
          }
          callback(refusal(`beforeAck failed for ${packet.topic}`, { cause: error }));
        },
      )
      .catch((error: unknown) =>
        logger.error(
          { event: 'broker.callback_failed', ...fields, err: error },
          'mqtt publish callback threw',
        ),
      );
    // handled until aedes was told (and wrote the PUBACK, or refused): what a stop waits for
    handling.add(answered);
    void answered.finally(() => handling.delete(answered));
  };

  const authorizeSubscribe: AccessControl['hooks']['authorizeSubscribe'] = (
    client,
    subscription,
    callback,
  ) => {
    const session = sessions.get(client);
    if (
      session !== undefined &&
      (session.rules === undefined || session.rules.canSubscribe(subscription.topic))
    ) {
      if (session.rules !== undefined && !subscriptions.subscribe(client.id, subscription.topic)) {
        logger.warn(
          {
            event: 'broker.subscription_refused',
            clientId: client.id,
            ...principalLogFields(session.principal),
            topic: subscription.topic,
            limit: maxSubscriptions,
          },
          'mqtt subscription refused: the session holds its limit of subscriptions (MQTT_BROKER_MAX_SUBSCRIPTIONS)',
        );
        callback(null, null);
        return;
      }
      grantedSubscriptions.add(subscription);
      callback(null, subscription);
      return;
    }
    logger.warn(
      {
        event: 'broker.subscription_refused',
        clientId: client.id,
        ...principalLogFields(session?.principal),
        topic: subscription.topic,
      },
      'mqtt subscription refused by topic ACL',
    );
    callback(null, null); // answered with granted QoS 128 in the SUBACK
  };

  return {
    hooks: { preConnect, authenticate, authorizePublish, authorizeSubscribe },
    principalOf: (client) => sessions.get(client)?.principal,
    deviceAccountOf: (clientId) => {
      const account = holders.accountOf(clientId);
      return account?.startsWith('device:') ? account : undefined;
    },
    wasLogged: (error) => logged.has(error),
    established: (client) => holders.established(client),
    released: (client) => holders.released(client),
    unsubscribed: (client, filters) => subscriptions.unsubscribe(client.id, filters),
    mayReceive: (client, topic) => {
      const session = sessions.get(client);
      if (session === undefined) return false;
      return session.rules === undefined || session.rules.canSubscribe(topic);
    },
    granted: (subscription) => grantedSubscriptions.has(subscription),
    closing: () => {
      closing = true;
    },
    stopIntake: async (drainTimeoutMs = 0) => {
      intakeStopped = true;
      if (handling.size === 0 || drainTimeoutMs <= 0) return;
      await withDeadline(Promise.allSettled([...handling]), drainTimeoutMs, 'still handling').catch(() => {});
      // the acknowledgements aedes wrote meanwhile leave before the broker closes its sockets
      await new Promise((resolve) => setImmediate(resolve));
    },
    retainedStored: ({ topic, payload }) => {
      // aedes copies a publish before storing it, but keeps its payload
      if (Buffer.isBuffer(payload) && counted.has(payload)) return;
      retained.retain(undefined, topic, payloadBytes(payload));
    },
  };
}
