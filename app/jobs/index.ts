/**
 * Every job this application may dispatch or run. Workers only run jobs listed here
 * (a stored job naming anything else fails with E_JOB_NOT_REGISTERED).
 */
import type { JobClass } from '../../core/index.js';
import { ProcessSensorDataJob } from './process_sensor_data_job.js';
import { SendEmailJob } from './send_email_job.js';
import { SendNotificationJob } from './send_notification_job.js';

// The order of each queue's first job here is the order `serve --workers` and a plain
// `queue:work` serve the queues in, and it is strict: a later queue waits until the earlier
// ones have no ready job, whatever the priorities (which order jobs within one queue only).
// So urgent work (notifications, critical alarms among them) goes first, and the bulk
// telemetry last, where a backlog of readings cannot hold up an alarm.
export const jobs: JobClass[] = [SendNotificationJob, SendEmailJob, ProcessSensorDataJob];

export { ProcessSensorDataJob, SendEmailJob, SendNotificationJob };
