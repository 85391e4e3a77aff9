/**
 * Processes one telemetry reading: raises a threshold alert (a SendNotificationJob) when the
 * temperature is above TEMPERATURE_ALERT_ABOVE, and logs the reading at debug level. It stores
 * nothing; an app that keeps readings would write them here.
 */
import { z } from 'zod';
import { Job, type JobContext } from '../../core/index.js';
import { SendNotificationJob } from './send_notification_job.js';
import { canonicalTime, derivedJobId } from '../ids.js';

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

  async handle(reading: SensorReading, { jobId, log }: JobContext): Promise<{ alerted: boolean }> {
    const alerted = reading.temperature > TEMPERATURE_ALERT_ABOVE;
    if (alerted) {
      await SendNotificationJob.dispatch(
        {
          deviceId: reading.deviceId,
          level: 'warning',
          message: `temperature ${reading.temperature}°C is above ${TEMPERATURE_ALERT_ABOVE}°C`,
        },
        // The same id on every try of this job, so a retry after the alert was stored adds
        // none; with a device time, also one alert per reading when the reading is sent twice.
        // Hashed: any device id fits, and two devices never share one.
        {
          jobId: reading.at
            ? derivedJobId('alert', 'reading', reading.deviceId, canonicalTime(reading.at))
            : derivedJobId('alert', 'job', jobId),
        },
      );
    }
    log.debug({ deviceId: reading.deviceId, temperature: reading.temperature, alerted }, 'reading processed');
    return { alerted };
  }
}
