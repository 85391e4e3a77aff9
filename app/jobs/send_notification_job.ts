/** Notifies operators about a device (simulated: logs it, and emails on critical). */
import { z } from 'zod';
import { Job, type JobContext } from '../../core/index.js';
import { derivedJobId } from '../ids.js';
import { SendEmailJob } from './send_email_job.js';

export interface NotificationPayload {
  deviceId: string;
  level: 'info' | 'warning' | 'critical';
  message: string;
}

export class SendNotificationJob extends Job<NotificationPayload> {
  static override readonly jobName = 'SendNotificationJob';
  static override readonly queue = 'notifications';
  static override readonly schema = z.object({
    deviceId: z.string().min(1),
    level: z.enum(['info', 'warning', 'critical']),
    message: z.string(),
  });

  async handle(payload: NotificationPayload, { jobId, log }: JobContext): Promise<void> {
    // not `level`: pino writes its own, and a JSON reader keeps the last of two
    log.warn(
      { event: 'notification.sent', deviceId: payload.deviceId, severity: payload.level },
      payload.message,
    );
    if (payload.level === 'critical') {
      await SendEmailJob.dispatch(
        {
          to: 'oncall@example.com',
          subject: `[${payload.level}] ${payload.deviceId}`,
          body: payload.message,
        },
        // one email per notification, however often it is tried
        { jobId: derivedJobId('email', jobId) },
      );
    }
  }
}
