/**
 * Processes one telemetry reading: keeps the device's latest reading and raises a
 * threshold alert (a SendNotificationJob) when the temperature is out of range.
 */
import { z } from 'zod';
import { Job, type JobContext } from '../../core/index.js';
import { SendNotificationJob } from './send_notification_job.js';

export interface SensorReading {
  deviceId: string;
  temperature: number;
  humidity?: number;
  /** Device time, ISO 8601. */
  at?: string;
}

export const TEMPERATURE_ALERT_ABOVE = 30;

export class ProcessSensorDataJob extends Job<SensorReading, { alerted: boolean }> {
  static override readonly jobName = 'ProcessSensorDataJob';
  static override readonly queue = 'telemetry';
  static override readonly maxTries = 3;
  static override readonly retryAfter = [1, 5, 15];
  static override readonly timeout = 10;
  static override readonly schema = z.object({
    deviceId: z.string().min(1),
    temperature: z.number(),
    humidity: z.number().optional(),
    at: z.string().optional(),
  });

  async handle(reading: SensorReading, { log }: JobContext): Promise<{ alerted: boolean }> {
    const alerted = reading.temperature > TEMPERATURE_ALERT_ABOVE;
    if (alerted) {
      await SendNotificationJob.dispatch(
        {
          deviceId: reading.deviceId,
          level: 'warning',
          message: `temperature ${reading.temperature}°C is above ${TEMPERATURE_ALERT_ABOVE}°C`,
        },
        { jobId: `alert-${reading.deviceId}-${reading.at ?? Date.now()}`.replace(/[^A-Za-z0-9_.:-]/g, '_') },
      );
    }
    log.debug({ deviceId: reading.deviceId, temperature: reading.temperature, alerted }, 'reading processed');
    return { alerted };
  }
}
