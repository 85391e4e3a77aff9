/**
 * Keeps a QoS 2 message from being routed twice when its device sends it again.
 *
 * QoS 2 promises the receiver gets a message once. A device that never saw the PUBREC (its
 * connection dropped) reconnects to its session and sends the PUBLISH again, DUP set, under
 * the same packet id. aedes answers such a resend with a PUBREC and does not forward it, but
 * it asks `authorizePublish`, where the broker routes the message (`beforeAck`), before it
 * looks the packet id up. So the hook looks first: a DUP copy is not routed when the broker
 * holds that packet id for the client (accepted, waiting for its PUBREL), or while the first
 * copy is still being routed and then succeeds. A copy without DUP is always routed: a device
 * may reuse a packet id once the PUBCOMP came back, and only DUP says "sent before".
 */
import type { Client, PublishPacket } from 'aedes';

/** Whether the broker holds the QoS 2 packet id of `packet` for `client` (waiting for PUBREL). */
export type HeldQos2 = (client: Client, packet: PublishPacket) => Promise<boolean>;

/** What {@link Qos2Resends.admit} did. */
export type Qos2Admission = 'routed' | 'resend';

export class Qos2Resends {
  readonly #held: HeldQos2;
  /** Copies being routed, by client id and packet id: resolves to whether routing succeeded. */
  readonly #routing = new Map<string, Promise<boolean>>();

  constructor(held: HeldQos2) {
    this.#held = held;
  }

  /**
   * Routes `packet` (a QoS 2 publish of `client`) with `route`, unless it is a resend of a copy
   * already routed: resolves to `resend` then, or to `routed` once `route` has; rejects as
   * `route` does. Call aedes's callback as soon as it settles: the first copy's entry is kept
   * until the next turn of the event loop, by which time aedes (with its default, in-memory
   * persistence) has stored the packet id, which answers for it from then on.
   */
  async admit(client: Client, packet: PublishPacket, route: () => Promise<void>): Promise<Qos2Admission> {
    const key = `${client.id}\n${packet.messageId}`;
    if (packet.dup) {
      const routing = this.#routing.get(key);
      if (routing) {
        if (await routing) {
          // aedes stores the first copy's packet id a few microtasks after its callback;
          // answering this copy before then lets aedes take it for a new message, and
          // forward (and retain) it a second time
          await new Promise((resolve) => setImmediate(resolve));
          return 'resend';
        }
      } else if (await this.#held(client, packet)) {
        return 'resend';
      }
    }
    const routed = route();
    const succeeded = routed.then(
      () => true,
      () => false,
    );
    this.#routing.set(key, succeeded);
    try {
      await routed;
      return 'routed';
    } finally {
      setImmediate(() => {
        if (this.#routing.get(key) === succeeded) this.#routing.delete(key);
      });
    }
  }
}
