/**
 * Every job this application may dispatch or run. Workers only run jobs listed here
 * (a stored job naming anything else fails with E_JOB_NOT_REGISTERED).
 */
import type { JobClass } from '../../core/index.js';
import { ProcessSensorDataJob } from './process_sensor_data_job.js';
import { SendEmailJob } from './send_email_job.js';
import { SendNotificationJob } from './send_notification_job.js';

export const jobs: JobClass[] = [SendEmailJob, ProcessSensorDataJob, SendNotificationJob];

export { ProcessSensorDataJob, SendEmailJob, SendNotificationJob };
