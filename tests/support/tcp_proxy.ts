/**
 * A loopback TCP proxy a test can cut and restore, to take a service (Redis) away from
 * one application while every other client of that service keeps working. `cut()`
 * drops every open connection and refuses new ones (ECONNREFUSED, as when the server is
 * down); `restore()` accepts connections again on the same port. `dropRepliesAfter()`
 * loses the server's replies from the moment a request passes, as when the network fails
 * after a command reached the server but before its reply got back.
 */
import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A proxy from 127.0.0.1:`port` to a target.
 *
 * @example
 * const proxy = await TcpProxy.start(6379);
 * const app = createServer({ env: { REDIS_URL: `redis://127.0.0.1:${proxy.port}` } });
 * await proxy.cut(); // the app loses Redis
 * await proxy.restore();
 */
export class TcpProxy {
  readonly targetPort: number;
  readonly targetHost: string;
  #port = 0;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #dropMarker: string | undefined;
  #dropping = false;
  #frozen = false;
  #cutOn: { matches: (chunk: Buffer) => boolean; done: () => void } | undefined;

  private constructor(targetPort: number, targetHost: string) {
    this.targetPort = targetPort;
    this.targetHost = targetHost;
  }

  /** Starts a proxy on a free loopback port. */
  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost);
    await proxy.#listen(0);
    return proxy;
  }

  /** The port the proxy listens on (the same after a restore). */
  get port(): number {
    return this.#port;
  }

  /**
   * From the first request containing `marker` on, discards everything the target sends
   * back (the request itself still reaches the target), until the next `cut()`.
   */
  dropRepliesAfter(marker: string): void {
    this.#dropMarker = marker;
  }

  /**
   * From now on, the first request chunk for which `matches` is true is not passed on: its
   * connection is dropped instead, as when the network fails as the request is sent. Once.
   */
  cutOn(matches: (chunk: Buffer) => boolean): Promise<void> {
    return new Promise((resolve) => {
      this.#cutOn = { matches, done: resolve };
    });
  }

  /**
   * Passes nothing either way from now on, until the next `cut()`, but keeps every connection
   * open: a network that silently drops packets (a host gone, a NAT that forgot the flow).
   */
  freeze(): void {
    this.#frozen = true;
  }

  /** True once a request with the `dropRepliesAfter` marker has passed. */
  get droppingReplies(): boolean {
    return this.#dropping;
  }

  /** Drops every open connection and stops listening. */
  async cut(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    this.#dropMarker = undefined;
    this.#dropping = false;
    this.#frozen = false;
    for (const socket of this.#sockets) socket.destroy();
    this.#sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Listens again on the same port. */
  async restore(): Promise<void> {
    if (!this.#server) await this.#listen(this.#port);
  }

  /** Same as `cut()`, for cleanup. */
  close(): Promise<void> {
    return this.cut();
  }

  #listen(port: number): Promise<void> {
    const server = createServer((client) => this.#pipe(client));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        this.#port = (server.address() as AddressInfo).port;
        this.#server = server;
        resolve();
      });
    });
  }

  #pipe(client: Socket): void {
    const upstream = createConnection({ host: this.targetHost, port: this.targetPort });
    for (const socket of [client, upstream]) {
      this.#sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {}); // a reset is expected when the proxy is cut
      socket.once('close', () => {
        this.#sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.on('data', (chunk: Buffer) => {
      const cutOn = this.#cutOn;
      if (cutOn?.matches(chunk)) {
        this.#cutOn = undefined;
        client.destroy();
        upstream.destroy();
        cutOn.done();
        return;
      }
      if (this.#frozen) return;
      if (this.#dropMarker !== undefined && chunk.includes(this.#dropMarker)) this.#dropping = true;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!this.#dropping && !this.#frozen) client.write(chunk);
    });
  }
}
