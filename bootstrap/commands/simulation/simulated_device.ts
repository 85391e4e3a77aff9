/**
 * One simulated sensor for `devices:simulate`: a temperature and humidity random walk
 * around the device's own baseline, now and then a heat spike above the alert threshold
 * (so alerts fire), and a battery that drains a little with every reading. Pure state:
 * it builds payloads, the fleet publishes them.
 */
import { TEMPERATURE_ALERT_ABOVE } from '../../../app/jobs/process_sensor_data_job.js';
import type { StatusPayload, TelemetryPayload } from '../../../app/schemas.js';

/** A source of numbers in [0, 1), `Math.random` unless a test fixes it. */
export type RandomSource = () => number;

/** Chance, per reading, that a heat spike starts. */
const SPIKE_CHANCE = 0.005;
const FIRMWARE_VERSIONS = ['1.4.2', '1.4.3', '1.5.0'] as const;

/**
 * A simulated device.
 *
 * @example
 * const device = new SimulatedDevice('sensor-1');
 * device.status();                 // { online: true, battery: 87, firmware: '1.4.3' }
 * device.nextTelemetry(new Date()); // { temperature: 22.4, humidity: 51.3, at: '2025-...' }
 */
export class SimulatedDevice {
  readonly id: string;
  readonly #random: RandomSource;
  readonly #baseTemperature: number;
  readonly #baseHumidity: number;
  readonly #firmware: string;
  #temperature: number;
  #humidity: number;
  #battery: number;
  #reportedBattery: number;
  /** Readings left in the current heat spike, and the temperature it climbs to. */
  #spikeLeft = 0;
  #spikePeak = 0;

  constructor(id: string, random: RandomSource = Math.random) {
    this.id = id;
    this.#random = random;
    this.#baseTemperature = 19 + random() * 6;
    this.#baseHumidity = 35 + random() * 25;
    this.#temperature = this.#baseTemperature;
    this.#humidity = this.#baseHumidity;
    this.#battery = 55 + random() * 45;
    this.#reportedBattery = Math.round(this.#battery);
    this.#firmware = FIRMWARE_VERSIONS[Math.floor(random() * FIRMWARE_VERSIONS.length)] ?? '1.4.2';
  }

  /** The device's status, as published when it comes online or its battery level changes. */
  status(): StatusPayload {
    this.#reportedBattery = Math.round(this.#battery);
    return { online: true, battery: this.#reportedBattery, firmware: this.#firmware };
  }

  /** True when the battery has drifted to a whole percent not yet reported by `status()`. */
  batteryChanged(): boolean {
    return Math.round(this.#battery) !== this.#reportedBattery;
  }

  /** Takes the next reading: one step of each random walk. */
  nextTelemetry(at: Date): TelemetryPayload {
    const random = this.#random;
    if (this.#spikeLeft === 0 && random() < SPIKE_CHANCE) {
      this.#spikeLeft = 3 + Math.floor(random() * 8);
      this.#spikePeak = TEMPERATURE_ALERT_ABOVE + 1 + random() * 4;
    }
    const target = this.#spikeLeft > 0 ? this.#spikePeak : this.#baseTemperature;
    const pull = this.#spikeLeft > 0 ? 0.5 : 0.05;
    if (this.#spikeLeft > 0) this.#spikeLeft--;
    this.#temperature = clamp(
      this.#temperature + (target - this.#temperature) * pull + (random() - 0.5) * 0.5,
      -40,
      85,
    );
    this.#humidity = clamp(
      this.#humidity + (this.#baseHumidity - this.#humidity) * 0.05 + (random() - 0.5) * 1.5,
      0,
      100,
    );
    this.#battery = Math.max(0, this.#battery - random() * 0.02);
    return { temperature: round1(this.#temperature), humidity: round1(this.#humidity), at: at.toISOString() };
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
