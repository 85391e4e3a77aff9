/** Sensor telemetry: each reading becomes a ProcessSensorDataJob on the `telemetry` queue. */
import { bodyOf, type MessageContext } from '../../core/index.js';
import { ProcessSensorDataJob } from '../jobs/process_sensor_data_job.js';
import { telemetrySchema } from '../schemas.js';

export class TelemetryController {
  /** `devices/{deviceId}/telemetry` */
  async store(ctx: MessageContext<{ deviceId: string }>): Promise<void> {
    const reading = bodyOf(ctx, telemetrySchema);
    await ctx.dispatch(ProcessSensorDataJob, { deviceId: ctx.params.deviceId, ...reading });
  }
}
