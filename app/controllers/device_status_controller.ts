/**
 * Device status events (`online`, `offline`, battery, firmware) kept as device state,
 * readable by other handlers and jobs via the state store's `devices` namespace.
 */
import { bodyOf, type MessageContext } from '../../core/index.js';
import { SendNotificationJob } from '../jobs/send_notification_job.js';
import { statusSchema } from '../schemas.js';

export const LOW_BATTERY_PERCENT = 15;

export class DeviceStatusController {
  /** `devices/{deviceId}/status` */
  async update(ctx: MessageContext<{ deviceId: string }>): Promise<void> {
    const status = bodyOf(ctx, statusSchema);
    const { deviceId } = ctx.params;
    const previous = await ctx.state.get('devices', deviceId);
    await ctx.state.merge('devices', deviceId, { ...status, lastSeenAt: new Date().toISOString() });
    const wasLow = typeof previous?.battery === 'number' && previous.battery < LOW_BATTERY_PERCENT;
    if (status.battery !== undefined && status.battery < LOW_BATTERY_PERCENT && !wasLow) {
      await ctx.dispatch(SendNotificationJob, {
        deviceId,
        level: 'warning',
        message: `battery at ${status.battery}%`,
      });
    }
  }
}
