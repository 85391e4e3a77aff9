/**
 * A raw MQTT 3.1.1 connection for tests that must control what mqtt.js decides for itself:
 * packet ids, the DUP flag, a resend after a PUBREC that "never arrived".
 */
import { connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';

/** Sends packets and waits for the next one of a kind. */
export class RawMqttClient {
  readonly #socket: Socket;
  readonly #received: Packet[] = [];
  readonly #waiters: (() => void)[] = [];
  #closed = false;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.once('close', () => {
      this.#closed = true;
    });
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (packet: Packet) => {
      this.#received.push(packet);
      for (const wake of this.#waiters.splice(0)) wake();
    });
    socket.on('data', (chunk) => parser.parse(chunk));
  }

  /** Connects to 127.0.0.1:`port` with a persistent session (clean off) and waits for CONNACK 0. */
  static async open(
    port: number,
    login: { clientId: string; username: string; password: string },
  ): Promise<RawMqttClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawMqttClient(socket);
    client.send({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: login.clientId,
      clean: false,
      keepalive: 60,
      username: login.username,
      password: Buffer.from(login.password),
    });
    const connack = await client.next('connack');
    if (connack.cmd !== 'connack' || connack.returnCode !== 0) {
      socket.destroy();
      throw new Error(`the broker refused the connection: ${JSON.stringify(connack)}`);
    }
    return client;
  }

  /**
   * Sends one CONNECT with `fields` (no client library checks them) and resolves with the
   * return code of the CONNACK, closing the connection.
   */
  static async connackFor(
    port: number,
    fields: { clientId: string; clean: boolean; username: string; password: string },
  ): Promise<number> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const client = new RawMqttClient(socket);
    // mqtt-packet refuses to write an empty client id with clean session off: write it clean
    // and clear the flag (bit 1 of the connect flags, after the 2-byte fixed header, the
    // 6-byte protocol name and the level)
    const packet = mqttPacket.generate({
      cmd: 'connect',
      protocolId: 'MQTT',
      protocolVersion: 4,
      clientId: fields.clientId,
      clean: true,
      keepalive: 60,
      username: fields.username,
      password: Buffer.from(fields.password),
    });
    if (!fields.clean) packet[9]! &= ~0x02;
    socket.write(packet);
    const connack = await client.next('connack');
    await client.close();
    return connack.cmd === 'connack' ? (connack.returnCode ?? -1) : -1;
  }

  /** Sends `packets` in one write, so the broker reads them in one chunk. */
  send(...packets: Packet[]): void {
    this.#socket.write(Buffer.concat(packets.map((packet) => mqttPacket.generate(packet))));
  }

  /** Subscribes to `topic` at `qos` and waits for the SUBACK. */
  async subscribe(topic: string, qos: 0 | 1 | 2): Promise<void> {
    this.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos }] });
    await this.next('suback');
  }

  /** The next received packet of kind `cmd` (earlier ones of other kinds are skipped). */
  async next(cmd: Packet['cmd']): Promise<Packet> {
    for (;;) {
      const at = this.#received.findIndex((packet) => packet.cmd === cmd);
      if (at >= 0) return this.#received.splice(at, 1)[0]!;
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** True once the connection has closed, from either end. */
  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    this.#socket.destroy();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
