/**
 * Device status events (`online`, `offline`, battery, firmware) kept as device state,
 * readable by other handlers and jobs via the state store's `devices` namespace.
 */
import { bodyOf, type MessageContext } from '../../core/index.js';
import { derivedJobId, deviceStateId } from '../ids.js';
import { SendNotificationJob } from '../jobs/send_notification_job.js';
import { statusSchema } from '../schemas.js';

export const LOW_BATTERY_PERCENT = 15;

export class DeviceStatusController {
  /** `devices/{deviceId}/status` */
  async update(ctx: MessageContext<{ deviceId: string }>): Promise<void> {
    const status = bodyOf(ctx, statusSchema);
    const { deviceId } = ctx.params;
    // a device id may hold characters a state id may not (a space, say)
    const stateId = deviceStateId(deviceId);
    const previous = await ctx.state.get('devices', stateId);
    const wasLow = typeof previous?.battery === 'number' && previous.battery < LOW_BATTERY_PERCENT;
    if (status.battery !== undefined && status.battery < LOW_BATTERY_PERCENT && !wasLow) {
      // Dispatched before the state is merged, under an id made from the state it read: a run
      // again after a failure (Redis away between the two) reads the same state and stores
      // nothing twice, and so do two status messages handled at once.
      await ctx.dispatch(
        SendNotificationJob,
        { deviceId, level: 'warning', message: `battery at ${status.battery}%` },
        { jobId: lowBatteryJobId(deviceId, previous?.lastSeenAt) },
      );
    }
    await ctx.state.merge('devices', stateId, { ...status, lastSeenAt: new Date().toISOString() });
  }
}

/** The warning's job id for a device whose last status was seen at `lastSeenAt` (none yet: undefined). */
function lowBatteryJobId(deviceId: string, lastSeenAt: unknown): string {
  return derivedJobId('low-battery', deviceId, String(lastSeenAt ?? ''));
}
