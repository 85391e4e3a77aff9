/**
 * The one place Topiq reaches past mqtt.js's public API, and why. Line numbers are
 * for mqtt 5.16.0, `node_modules/mqtt/build/lib/`.
 *
 * mqtt.js reads packets in a loop that handles one packet and waits for its `done`
 * callback before it handles the next (`client.js:330-366`: `work` → handler →
 * `nextTickWork`). For a QoS 1 PUBLISH, `done` runs only after the PUBACK has been
 * written (`handlers/publish.js:111-116`), and `customHandleAcks` (MQTT 5 only,
 * `client.js:150`) sits in front of that same chain. So deferring the PUBACK through
 * either public hook also stops the client from reading anything else, which caps a
 * connection at one Redis round trip per message.
 *
 * The way out is also in `handlers/publish.js:112-114`: when `handleMessage`'s callback
 * gets an error, mqtt.js calls `done` right away, sends no PUBACK, and goes on to the
 * next packet. Topiq passes {@link DEFERRED_ACK} there and later writes the PUBACK itself
 * with `_sendPacket`, the method mqtt.js uses for its own acknowledgements. QoS 2 works
 * the same way one step later: mqtt.js stores the PUBLISH and answers PUBREC straight away
 * (`handlers/publish.js:70-94`), delivers it when PUBREL arrives (`handlers/pubrel.js:8-18`),
 * and on an error from the callback skips the store cleanup and the PUBCOMP, which
 * {@link sendPubcomp} then does. The PUBREC cannot be deferred without stalling the read
 * loop, so a QoS 2 message survives a dropped connection (the stores are kept and the
 * broker resends PUBREL) but not a crashed process: mqtt.js's stores are in memory, and a
 * fresh client answers the resent PUBREL with PUBCOMP. Use QoS 1 for at-least-once ingest.
 *
 * `_sendPacket` queues non-PUBLISH packets while offline and sends them after the next
 * CONNACK (`client.js:1124-1128`). An acknowledgement must never reach another network
 * connection, so callers check {@link isWritable} first.
 */
import type { IPublishPacket, IStore, MqttClient } from 'mqtt';

/** Passed to `handleMessage`'s callback so mqtt.js does not acknowledge the message itself. */
export const DEFERRED_ACK: Error = new Error('Topiq acknowledges this message itself, in order, later');

interface MqttClientInternals {
  _sendPacket(packet: { cmd: 'puback' | 'pubcomp'; messageId: number; reasonCode?: number }): void;
  _releaseIncomingQoS2Publish(messageId: number): void;
  incomingStore: IStore;
  connected: boolean;
}

function internals(client: MqttClient): MqttClientInternals {
  return client as unknown as MqttClientInternals;
}

/**
 * Throws when the installed mqtt.js lacks the private methods Topiq relies on, so an
 * upgrade that renamed them fails at start-up rather than silently never acknowledging.
 */
export function assertSupportedClient(client: MqttClient): void {
  const candidate = client as unknown as Record<string, unknown>;
  for (const method of ['_sendPacket', '_releaseIncomingQoS2Publish']) {
    if (typeof candidate[method] !== 'function') {
      throw new Error(
        `mqtt.js ${String(client.constructor.name)} has no ${method}(); Topiq's deferred acknowledgements ` +
          'need it. Pin mqtt to a 5.x version that has it (tested with 5.16).',
      );
    }
  }
}

/** True while the client's current network connection can carry an acknowledgement. */
export function isWritable(client: MqttClient): boolean {
  return internals(client).connected;
}

/** Writes the PUBACK of a QoS 1 message. */
export function sendPuback(client: MqttClient, packet: IPublishPacket): void {
  internals(client)._sendPacket({ cmd: 'puback', messageId: packet.messageId ?? 0, reasonCode: 0 });
}

/** Finishes a QoS 2 message the way `handlers/pubrel.js:15-17` would: forget it, send PUBCOMP. */
export function sendPubcomp(client: MqttClient, packet: IPublishPacket): void {
  const inner = internals(client);
  const messageId = packet.messageId ?? 0;
  inner.incomingStore.del(packet, () => {});
  inner._releaseIncomingQoS2Publish(messageId);
  inner._sendPacket({ cmd: 'pubcomp', messageId });
}

/**
 * Keeps a connection whose read loop Topiq holds (too many messages waiting to be stored) alive
 * until the returned function is called. mqtt.js counts a keepalive as answered only when it
 * handles the broker's PINGRESP, which a held read loop never does, so after 1.5 keepalives it
 * would drop a healthy connection, and the broker would send every unacknowledged message
 * again on the next. So while held: a PINGREQ every third of the keepalive (the broker's own
 * keepalive check counts it), and mqtt.js's timeout put off (`reschedulePing`, public API) only
 * while the broker shows it is there: bytes arrived since the last tick (its PINGRESPs, read
 * into the socket's buffer with the rest), or the socket is paused because that buffer is full.
 * A broker gone silent (a host gone, a NAT that forgot the flow) sends nothing, and mqtt.js
 * ends the connection as it would unheld; with the buffer full that cannot be told, and the
 * connection is kept. No-op with keepalive off.
 */
export function keepHeldConnectionAlive(client: MqttClient): () => void {
  const seconds = client.keepalive;
  if (!seconds) return () => {};
  const socket = client.stream as { bytesRead?: number; isPaused?: () => boolean };
  let bytesRead = socket.bytesRead ?? 0;
  const timer = setInterval(
    () => {
      if (!internals(client).connected) return;
      client.sendPing();
      const now = socket.bytesRead ?? 0;
      if (now > bytesRead || socket.isPaused?.()) client.reschedulePing(true);
      bytesRead = now;
    },
    Math.max(100, (seconds * 1000) / 3),
  );
  timer.unref();
  return () => clearInterval(timer);
}
