import { describe, expect, it } from 'vitest';
import { SimulatedDevice } from '../../../bootstrap/commands/simulation/simulated_device.js';
import { TEMPERATURE_ALERT_ABOVE } from '../../../app/jobs/process_sensor_data_job.js';
import { statusSchema, telemetrySchema } from '../../../app/schemas.js';

/** A deterministic source of numbers in [0, 1) (a linear congruential generator). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('SimulatedDevice', () => {
  it('produces telemetry and status payloads that the app schemas accept', () => {
    const device = new SimulatedDevice('sensor-1', seeded(1));
    expect(statusSchema.parse(device.status())).toMatchObject({ online: true });
    for (let index = 0; index < 1000; index++) {
      telemetrySchema.parse(device.nextTelemetry(new Date()));
    }
  });

  it('walks temperature in small steps', () => {
    const device = new SimulatedDevice('sensor-1', () => 0.4);
    const readings = Array.from({ length: 20 }, () => device.nextTelemetry(new Date()).temperature);
    for (let index = 1; index < readings.length; index++) {
      expect(Math.abs(readings[index]! - readings[index - 1]!)).toBeLessThan(1);
    }
  });

  it('now and then climbs above the alert threshold', () => {
    const device = new SimulatedDevice('sensor-1', seeded(7));
    const readings = Array.from({ length: 5000 }, () => device.nextTelemetry(new Date()).temperature);
    expect(readings.some((temperature) => temperature > TEMPERATURE_ALERT_ABOVE)).toBe(true);
    const hot = readings.filter((temperature) => temperature > TEMPERATURE_ALERT_ABOVE).length;
    expect(hot / readings.length).toBeLessThan(0.2);
  });

  it('reports a battery change once the level drifts by a whole percent', () => {
    const device = new SimulatedDevice('sensor-1', seeded(3));
    const first = device.status().battery!;
    expect(device.batteryChanged()).toBe(false);
    let readings = 0;
    while (!device.batteryChanged()) {
      device.nextTelemetry(new Date());
      readings++;
    }
    expect(readings).toBeGreaterThan(10);
    expect(device.status().battery).toBe(first - 1);
    expect(device.batteryChanged()).toBe(false);
  });
});
