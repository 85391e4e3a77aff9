/**
 * The simulated fleet behind `devices:simulate`: one MQTT connection per device (username
 * = device id), then telemetry on a fixed schedule that spreads the fleet's publishes
 * evenly over time instead of bursting every device at once, then a bounded wait for
 * outstanding acknowledgements and a clean DISCONNECT.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { connect, type MqttClient } from 'mqtt';
import { BrokerUnavailableError } from '../../../core/index.js';
import type { Qos } from '../../../core/routing/index.js';
import { type MessageKind, PublishStats, type SimulationSummary } from './publish_stats.js';
import type { SimulatedDevice } from './simulated_device.js';

/** What a {@link DeviceFleet} is built from. */
export interface DeviceFleetOptions {
  url: string;
  devices: readonly SimulatedDevice[];
  /** Password per device id (the username is the id). */
  passwords: ReadonlyMap<string, string>;
  /** Telemetry messages per second per device. */
  rate: number;
  durationMs: number;
  qos: Qos;
  /**
   * Client ids: `unique` (default), `<id>-sim-<random hex>`, so two runs with the same ids do
   * not knock each other off (unless the broker puts the username in place of the client id, as
   * the shipped Mosquitto config does); or `device-id`, the device id itself, for an embedded
   * broker that takes only that (`MQTT_BROKER_CLIENT_IDS=device-id`).
   */
  clientIds?: 'unique' | 'device-id';
  /** Longest wait for one device's CONNACK. Default 10 000. */
  connectTimeoutMs?: number;
  /** Devices connecting at the same time. Default 50. */
  connectConcurrency?: number;
  /** Longest wait, after publishing stops, for outstanding acknowledgements. Default 5 000. */
  drainTimeoutMs?: number;
  /** Called every `progressIntervalMs` while publishing, with the seconds elapsed. */
  onProgress?: (stats: PublishStats, seconds: number) => void;
  /** Default 5 000. */
  progressIntervalMs?: number;
}

/**
 * A fleet of simulated devices.
 *
 * @example
 * const fleet = new DeviceFleet({ url, devices, passwords, rate: 5, durationMs: 10_000, qos: 1 });
 * const summary = await fleet.run(abortController.signal); // abort = Ctrl-C
 */
export class DeviceFleet {
  readonly stats: PublishStats;
  readonly #options: DeviceFleetOptions;
  readonly #clients: MqttClient[] = [];

  constructor(options: DeviceFleetOptions) {
    this.#options = options;
    this.stats = new PublishStats(options.qos);
  }

  /**
   * Connects every device, publishes until the duration ends or `signal` aborts, waits
   * for outstanding acknowledgements and disconnects. Rejects with `E_BROKER_UNAVAILABLE`
   * when a device cannot connect (after disconnecting the others).
   */
  async run(signal: AbortSignal): Promise<SimulationSummary> {
    let seconds = 0;
    try {
      const clients = await this.#connectAll(signal);
      if (!signal.aborted) seconds = await this.#publish(clients, signal);
      await this.#drain();
    } finally {
      await Promise.all(this.#clients.map((client) => disconnect(client, this.stats.pending > 0)));
    }
    return this.#summary(seconds, signal.aborted);
  }

  #summary(seconds: number, stoppedEarly: boolean): SimulationSummary {
    return this.stats.summary({ devices: this.#options.devices.length, seconds, stoppedEarly });
  }

  /** Connects devices, `connectConcurrency` at a time; stops early on abort or the first failure. */
  async #connectAll(signal: AbortSignal): Promise<MqttClient[]> {
    const { devices } = this.#options;
    const failed = new AbortController();
    const either = AbortSignal.any([signal, failed.signal]);
    // Every connecting device listens for the abort.
    setMaxListeners(0, either);
    const clients: MqttClient[] = new Array(devices.length);
    let next = 0;
    let failure: unknown;
    const worker = async () => {
      while (next < devices.length && !either.aborted) {
        const index = next++;
        try {
          clients[index] = await this.#connect(devices[index]!, either);
        } catch (error) {
          if (failure === undefined && !either.aborted) failure = error;
          failed.abort();
        }
      }
    };
    const lanes = Math.min(devices.length, this.#options.connectConcurrency ?? 50);
    await Promise.all(Array.from({ length: lanes }, worker));
    if (failure !== undefined) throw failure;
    return clients;
  }

  #connect(device: SimulatedDevice, signal: AbortSignal): Promise<MqttClient> {
    const { url, passwords } = this.#options;
    const timeoutMs = this.#options.connectTimeoutMs ?? 10_000;
    const client = connect(url, {
      clientId:
        this.#options.clientIds === 'device-id'
          ? device.id
          : `${device.id}-sim-${randomBytes(3).toString('hex')}`,
      username: device.id,
      password: passwords.get(device.id) ?? '',
      // 3.1.1: spoken by every broker, the embedded one (aedes) included.
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      connectTimeout: timeoutMs,
      reconnectPeriod: 1000,
    });
    this.#clients.push(client);
    return new Promise<MqttClient>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error(`no CONNACK within ${timeoutMs} ms`)), timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        client.off('connect', onConnect);
        client.off('error', fail);
        client.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
      };
      const onConnect = () => {
        cleanup();
        // From here on errors are the reconnect loop's business; a listener keeps them
        // from being thrown as unhandled 'error' events.
        client.on('error', () => {});
        resolve(client);
      };
      const onClose = () => fail(new Error('the broker closed the connection before CONNACK'));
      const onAbort = () => fail(new Error('stopped'));
      function fail(cause: unknown) {
        cleanup();
        client.end(true);
        const reason = cause instanceof Error ? cause.message : String(cause);
        const hint = /username|password|authori[sz]ed/i.test(reason)
          ? ' (check --password, or the device entry in MQTT_DEVICES)'
          : '';
        reject(
          new BrokerUnavailableError(`device ${device.id} could not connect to ${url}: ${reason}${hint}`, {
            cause,
          }),
        );
      }
      client.on('connect', onConnect);
      client.on('error', fail);
      client.on('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Publishes on a fixed schedule: the fleet's n-th message is due at n / (devices × rate)
   * seconds and goes to device n mod devices, so every device publishes at `rate` and the
   * fleet's publishes are evenly spaced. Late ticks catch up. Resolves to the seconds the
   * window lasted.
   */
  async #publish(clients: readonly MqttClient[], signal: AbortSignal): Promise<number> {
    const { devices, rate, durationMs } = this.#options;
    const count = devices.length;
    const intervalMs = 1000 / (count * rate);
    const total = Math.ceil((durationMs / 1000) * rate * count - 1e-9);
    const progressMs = this.#options.progressIntervalMs ?? 5000;
    const started = performance.now();
    let nextProgress = progressMs;
    let slot = 0;
    while (!signal.aborted) {
      const elapsed = performance.now() - started;
      while (slot < total && slot * intervalMs <= elapsed) {
        const index = slot % count;
        const device = devices[index]!;
        const client = clients[index]!;
        if (slot < count) this.#send(client, device.id, 'status', device.status());
        this.#send(client, device.id, 'telemetry', device.nextTelemetry(new Date()));
        if (device.batteryChanged()) this.#send(client, device.id, 'status', device.status());
        slot++;
      }
      if (slot >= total && elapsed >= durationMs) break;
      if (elapsed >= nextProgress) {
        nextProgress += progressMs;
        this.#options.onProgress?.(this.stats, elapsed / 1000);
      }
      const wakeAt = Math.min(slot < total ? slot * intervalMs : durationMs, nextProgress);
      await sleep(wakeAt - elapsed, signal);
    }
    return Math.min(performance.now() - started, durationMs) / 1000;
  }

  #send(client: MqttClient, deviceId: string, kind: MessageKind, payload: object): void {
    const done = this.stats.sent(kind);
    client.publish(`devices/${deviceId}/${kind}`, JSON.stringify(payload), { qos: this.#options.qos }, done);
  }

  /** Waits for outstanding acknowledgements, at most `drainTimeoutMs`. */
  async #drain(): Promise<void> {
    const deadline = performance.now() + (this.#options.drainTimeoutMs ?? 5000);
    while (this.stats.pending > 0 && performance.now() < deadline) await sleep(10);
  }
}

/** Resolves after `ms` (at least 1), or at once when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const wake = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', wake);
      resolve();
    };
    const timer = setTimeout(wake, Math.max(1, ms));
    signal?.addEventListener('abort', wake, { once: true });
  });
}

/**
 * Sends DISCONNECT and closes; `force` skips waiting for in-flight messages (their
 * callbacks then report failure). Gives up after 2 s on a broker that does not answer.
 */
async function disconnect(client: MqttClient, force: boolean): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.endAsync(force).catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        client.end(true);
        resolve();
      }, 2000);
    }),
  ]);
  clearTimeout(timer);
}
