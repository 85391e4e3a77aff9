/**
 * Lends an aedes persistence to one running embedded broker at a time. The broker wraps some
 * of its methods with hooks of its own (the queue bounds, the retained budget, the granted
 * subscriptions); a persistence that outlives the broker (`aedes.persistence`) must go to the
 * next broker as it came, or it would stay wrapped by the hooks of a closed broker: its
 * subscription filter, for one, knows no subscription the next broker grants, and would keep
 * every new one of a persistent session out of the store.
 */
import { InvalidOptionError } from '../errors.js';

/** The persistence methods the embedded broker replaces with wrappers. */
const WRAPPED_METHODS = [
  'outgoingEnqueue',
  'outgoingEnqueueCombi',
  'outgoingUpdate',
  'outgoingClearMessageId',
  'storeRetained',
  'addSubscriptions',
  'subscriptionsByClient',
  'incomingStorePacket',
  'incomingDelPacket',
  'cleanIncoming',
] as const;

/** Marks a persistence a running broker holds. */
const IN_USE = Symbol('topiq embedded broker persistence');

/** Throws `InvalidOptionError` when a running broker holds `persistence`. */
export function assertPersistenceFree(persistence: object): void {
  if (IN_USE in persistence) {
    throw new InvalidOptionError(
      'The aedes persistence passed to the embedded MQTT broker is in use by another running embedded broker; ' +
        'close that broker first, or give each broker a persistence of its own.',
    );
  }
}

/**
 * Marks `persistence` as held, before the broker wraps its methods, and returns the function
 * that gives it back as it was: the methods put back, the mark removed.
 */
export function leasePersistence(persistence: object): () => void {
  assertPersistenceFree(persistence);
  const saved = WRAPPED_METHODS.map(
    (name) => [name, Object.getOwnPropertyDescriptor(persistence, name)] as const,
  );
  Object.defineProperty(persistence, IN_USE, { value: true, configurable: true });
  return () => {
    for (const [name, descriptor] of saved) {
      if (descriptor) Object.defineProperty(persistence, name, descriptor);
      else Reflect.deleteProperty(persistence, name); // the prototype's method shows again
    }
    Reflect.deleteProperty(persistence, IN_USE);
  };
}
