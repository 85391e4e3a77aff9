/**
 * The simulated devices of the end-to-end bench: one mqtt.js connection each (MQTT
 * 3.1.1, clean session, TCP_NODELAY), publishing QoS 1 JSON telemetry to
 * `<prefix>/devices/<id>/telemetry`. Two loads:
 *
 * - `rate`: a fixed total rate, spread evenly: message k goes out at k / rate seconds,
 *   from device k mod N, so each device publishes every N / rate seconds, phase-shifted
 *   from its neighbours (a 1 ms scheduler catches up if a tick runs late);
 * - `max`: each device keeps up to `window` publishes unacknowledged and sends the next
 *   as soon as the broker acknowledges one: the rate the broker lets in.
 *
 * Sequence numbers per device start at 0, so device d's messages are 0 .. sent[d]-1;
 * warm-up messages count down from -1 and are not part of any result.
 */
import { type MqttClient, connectAsync } from 'mqtt';
import { preciseNow } from './e2e_telemetry_job.js';

export type LoadPlan =
  | { mode: 'rate'; rate: number; durationMs: number }
  | { mode: 'max'; window: number; durationMs: number };

/** How one `run` publishes. */
export interface RunOptions {
  /**
   * Warm-up traffic: sequence numbers -1, -2, ... (the recorder counts them apart), and a
   * `rate` plan ramps up linearly from `rampFrom` × rate to the full rate.
   */
  warmup?: boolean;
  rampFrom?: number;
  /** Give up waiting for acknowledgements after this long. Default 30 s. */
  ackTimeoutMs?: number;
}

/** What the devices did. */
export interface PublishResult {
  /** Messages the broker acknowledged (PUBACK), per device id. */
  sent: Record<string, number>;
  acknowledged: number;
  /** Publishes that failed (the connection dropped); 0 in a clean run. */
  errors: number;
  /** Epoch ms of the first publish and the last acknowledgement. */
  startedAt: number;
  lastAckAt: number;
  /** Publish calls over the publishing window, per second. */
  publishRate: number;
  /**
   * `rate` plans: per second of publishing, how late (ms) the scheduler got behind its
   * plan at worst. The devices then catch up with a burst, so lag here is load the
   * pipeline sees as a burst (a stalled bench process, not the system under test).
   */
  lagBySecond: number[];
}

interface Device {
  id: string;
  topic: string;
  client: MqttClient;
  seq: number;
  inFlight: number;
}

export class DeviceFleet {
  readonly #devices: Device[];
  /** Publishes the broker acknowledged in the current (or last) run, updated live. */
  acknowledged = 0;

  private constructor(devices: Device[]) {
    this.#devices = devices;
  }

  /** Connects `count` devices (ids `d000`, `d001`, ...) with client ids under `clientPrefix`. */
  static async connect(
    url: string,
    count: number,
    topicPrefix: string,
    clientPrefix: string,
  ): Promise<DeviceFleet> {
    const devices = await Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const id = `d${String(index).padStart(3, '0')}`;
        const client = await connectAsync(url, {
          clientId: `${clientPrefix}-${id}`,
          clean: true,
          protocolVersion: 4,
          reconnectPeriod: 0,
        });
        (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
        client.on('error', () => {}); // surfaced as failed publishes
        return { id, topic: `${topicPrefix}/devices/${id}/telemetry`, client, seq: 0, inFlight: 0 };
      }),
    );
    return new DeviceFleet(devices);
  }

  /** Publishes per `plan`, then waits for every acknowledgement. */
  async run(plan: LoadPlan, options: RunOptions = {}): Promise<PublishResult> {
    const { warmup = false, rampFrom = 1, ackTimeoutMs = 30_000 } = options;
    const sent: Record<string, number> = {};
    for (const device of this.#devices) {
      device.seq = 0;
      device.inFlight = 0;
      sent[device.id] = 0;
    }
    this.acknowledged = 0;
    let errors = 0;
    let outstanding = 0;
    let lastAckAt = 0;
    let publishing = true;
    let wakeIdle: (() => void) | undefined;
    const startedAt = preciseNow();
    const started = performance.now();
    const publish = (device: Device, onAck?: () => void): void => {
      const seq = warmup ? -1 - device.seq++ : device.seq++;
      outstanding++;
      device.inFlight++;
      const sentAt = preciseNow();
      const payload = JSON.stringify({
        temperature: 18 + Math.abs(seq % 100) / 10,
        humidity: 40 + Math.abs(seq % 20),
        at: new Date(sentAt).toISOString(),
        seq,
        sentAt,
      });
      device.client.publish(device.topic, payload, { qos: 1 }, (error) => {
        outstanding--;
        device.inFlight--;
        if (error) errors++;
        else {
          this.acknowledged++;
          sent[device.id]!++;
          lastAckAt = preciseNow();
        }
        onAck?.();
        if (!publishing && outstanding === 0) wakeIdle?.();
      });
    };

    let publishedCalls = 0;
    let publishEnded = started;
    const lagBySecond: number[] = [];
    if (plan.mode === 'rate') {
      const seconds = plan.durationMs / 1000;
      // Messages due by t seconds, the rate rising linearly from rampFrom × rate to rate.
      const dueBy = (t: number): number =>
        plan.rate * (rampFrom * t + ((1 - rampFrom) * t * t) / (2 * seconds));
      const total = Math.round(dueBy(seconds));
      const count = this.#devices.length;
      await new Promise<void>((resolve) => {
        const tick = (): void => {
          const t = Math.min(seconds, (performance.now() - started) / 1000);
          const due = Math.min(total, Math.floor(dueBy(t)) + 1);
          if (rampFrom === 1 && due > publishedCalls) {
            const lagMs = (t - publishedCalls / plan.rate) * 1000;
            const second = Math.floor(t);
            lagBySecond[second] = Math.max(lagBySecond[second] ?? 0, lagMs);
          }
          for (; publishedCalls < due; publishedCalls++) publish(this.#devices[publishedCalls % count]!);
          if (publishedCalls >= total) resolve();
          else setTimeout(tick, 1);
        };
        tick();
      });
      publishEnded = performance.now();
    } else {
      const deadline = started + plan.durationMs;
      await new Promise<void>((resolve) => {
        let stopped = false;
        const next = (device: Device): void => {
          if (performance.now() >= deadline) {
            if (!stopped) {
              stopped = true;
              publishEnded = performance.now();
              resolve();
            }
            return;
          }
          publishedCalls++;
          publish(device, () => next(device));
        };
        for (const device of this.#devices) for (let i = 0; i < plan.window; i++) next(device);
        // Nothing acknowledged in time (a dead broker) still ends the window.
        setTimeout(() => next(this.#devices[0]!), plan.durationMs + 10).unref();
      });
    }
    publishing = false;
    if (outstanding > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ackTimeoutMs);
        wakeIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const seconds = (publishEnded - started) / 1000;
    return {
      sent,
      acknowledged: this.acknowledged,
      errors: errors + outstanding,
      startedAt,
      lastAckAt,
      publishRate: seconds > 0 ? publishedCalls / seconds : 0,
      lagBySecond: Array.from(lagBySecond, (lag) => lag ?? 0),
    };
  }

  async close(): Promise<void> {
    await Promise.all(this.#devices.map((device) => device.client.endAsync(true)));
  }
}
