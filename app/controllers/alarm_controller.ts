/** Alarms a device raises itself (door forced, leak detected): notify at once. */
import { bodyOf, type MessageContext } from '../../core/index.js';
import { SendNotificationJob } from '../jobs/send_notification_job.js';
import { alarmSchema } from '../schemas.js';

export class AlarmController {
  /** `devices/{deviceId}/alarms/{kind}` */
  async raise(ctx: MessageContext<{ deviceId: string; kind: string }>): Promise<void> {
    const alarm = bodyOf(ctx, alarmSchema);
    await ctx.dispatch(
      SendNotificationJob,
      {
        deviceId: ctx.params.deviceId,
        level: alarm.severity,
        message: `${ctx.params.kind}: ${alarm.message}`,
      },
      { priority: alarm.severity === 'critical' ? -100 : 0 },
    );
  }
}
