/**
 * Refuses MQTT packets larger than a limit as soon as their fixed header says how large they are.
 * aedes has no packet size limit: its parser buffers a packet until all the bytes its header
 * announces have come (up to 256 MiB), so one socket, before it has even logged in, could make
 * the broker hold that much. The guard reads the same bytes aedes reads and only the fixed
 * headers: one type byte and a 1-4 byte "remaining length", then skips the rest of the packet.
 */

/** Largest CONNECT accepted (it comes before authentication): 64 KiB. */
export const MAX_CONNECT_BYTES = 64 * 1024;

/** The packet size limit the embedded broker applies unless told otherwise: 1 MiB. */
export const DEFAULT_MAX_PACKET_BYTES = 1024 * 1024;

/** The range a packet size limit may take: 1 KiB up to MQTT's largest remaining length. */
export const PACKET_LIMIT_RANGE = { min: 1024, max: 268_435_455 } as const;

/** What the guard found wrong: a packet too large, or a header no MQTT packet has. */
export interface PacketSizeProblem {
  readonly reason: 'too-large' | 'malformed';
  /** The remaining length the header announced (0 when malformed). */
  readonly bytes: number;
  readonly limit: number;
}

export class PacketSizeGuard {
  readonly #maxBytes: number;
  #packets = 0;
  /** Bytes of the current packet's body still to skip. */
  #skip = 0;
  /** Whether the next byte begins a packet (its type byte). */
  #atStart = true;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;

  /** @param maxBytes - largest remaining length accepted after the first packet (CONNECT). */
  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Reads `chunk`; returns the first problem found in it, else undefined. */
  push(chunk: Buffer): PacketSizeProblem | undefined {
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const taken = Math.min(this.#skip, chunk.length - at);
        this.#skip -= taken;
        at += taken;
        continue;
      }
      const byte = chunk[at++]!;
      if (this.#atStart) {
        this.#atStart = false;
        this.#length = 0;
        this.#multiplier = 1;
        this.#lengthBytes = 0;
        continue;
      }
      // a remaining-length byte: 7 bits of value, the top bit says another follows
      this.#length += (byte & 0x7f) * this.#multiplier;
      this.#multiplier *= 128;
      this.#lengthBytes++;
      if (byte & 0x80) {
        if (this.#lengthBytes === 4) return { reason: 'malformed', bytes: 0, limit: this.#limit() };
        continue;
      }
      const limit = this.#limit();
      if (this.#length > limit) return { reason: 'too-large', bytes: this.#length, limit };
      this.#packets++;
      this.#skip = this.#length;
      this.#atStart = true;
    }
    return undefined;
  }

  #limit(): number {
    return this.#packets === 0 ? Math.min(MAX_CONNECT_BYTES, this.#maxBytes) : this.#maxBytes;
  }
}
