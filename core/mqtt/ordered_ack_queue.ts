/**
 * Keeps MQTT acknowledgements in arrival order while their messages settle in any order.
 *
 * MQTT requires a receiver to send PUBACKs in the order the PUBLISH packets arrived
 * (MQTT 3.1.1 §4.6, MQTT 5 §4.6), but a consumer that batches Redis writes settles
 * messages out of order. Each message takes a place in this queue; an acknowledgement is
 * sent once its message and every earlier one have settled.
 */

/** A message's place in an {@link OrderedAckQueue}. */
export interface AckTicket {
  /** Marks the message settled; sends every acknowledgement now unblocked. Idempotent. */
  settle(): void;
}

interface Entry {
  send: () => void;
  settled: boolean;
  dropped: boolean;
}

/**
 * A FIFO of pending acknowledgements, released from the head as the head settles.
 *
 * @example
 * const acks = new OrderedAckQueue();
 * const first = acks.push(() => sendPuback(1));
 * const second = acks.push(() => sendPuback(2));
 * second.settle(); // nothing sent yet: message 1 is still pending
 * first.settle(); // sends PUBACK 1, then PUBACK 2
 */
export class OrderedAckQueue {
  readonly #entries: Entry[] = [];
  #head = 0;

  /** Messages taken but not yet acknowledged (settled ones behind a pending head included). */
  get size(): number {
    return this.#entries.length - this.#head;
  }

  /** Queues an acknowledgement; `send` runs once this and all earlier entries settle. */
  push(send: () => void): AckTicket {
    const entry: Entry = { send, settled: false, dropped: false };
    this.#entries.push(entry);
    return {
      settle: () => {
        if (entry.settled || entry.dropped) return;
        entry.settled = true;
        this.#release();
      },
    };
  }

  /**
   * Forgets every pending entry without sending anything; their tickets become no-ops.
   * Used when the connection is lost: the broker redelivers what was not acknowledged.
   * Returns how many entries were dropped.
   */
  clear(): number {
    const dropped = this.size;
    for (let index = this.#head; index < this.#entries.length; index += 1) {
      const entry = this.#entries[index];
      if (entry) entry.dropped = true;
    }
    this.#entries.length = 0;
    this.#head = 0;
    return dropped;
  }

  #release(): void {
    let entry = this.#entries[this.#head];
    while (entry?.settled) {
      this.#head += 1;
      entry.send();
      entry = this.#entries[this.#head];
    }
    // Compact now and then instead of shifting on every release (shift is O(n)).
    if (this.#head === this.#entries.length) {
      this.#entries.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries.splice(0, this.#head);
      this.#head = 0;
    }
  }
}
