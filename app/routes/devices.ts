/**
 * Routes for device traffic. Every device publishes under `devices/<its id>/...`; the
 * embedded broker's ACL refuses a device publishing under another id. Every route is
 * validated and rate limited per device (each with a budget of its own: alarms feed the most
 * urgent queue, which no device may flood); a bad payload is dead-lettered with its reason.
 */
import { defineRoutes, type MessageContext, rateLimit, requestLogger, validate } from '../../core/index.js';
import { AlarmController } from '../controllers/alarm_controller.js';
import { DeviceStatusController } from '../controllers/device_status_controller.js';
import { TelemetryController } from '../controllers/telemetry_controller.js';
import { alarmSchema, statusSchema, telemetrySchema } from '../schemas.js';

export default defineRoutes((routes, app) => {
  routes.group(
    { prefix: 'devices/{deviceId}', middleware: [requestLogger({ level: 'debug' })] },
    (device) => {
      device.on('telemetry', [TelemetryController, 'store'], {
        qos: 1,
        shared: true,
        middleware: [rateLimit(app.rateLimiter, { limit: 100, windowMs: 1000 }), validate(telemetrySchema)],
      });
      device.on('status', [DeviceStatusController, 'update'], {
        qos: 1,
        middleware: [
          rateLimit(app.rateLimiter, { name: 'status', limit: 60, windowMs: 60_000 }),
          validate(statusSchema),
        ],
      });
      device.on('alarms/{kind}', [AlarmController, 'raise'], {
        qos: 1,
        // Critical alarms on a budget of their own: a run of minor ones never holds one back.
        // Limited before validation, by the severity the alarm claims (read from its raw JSON), so
        // invalid alarms spend the device's budget too, rather than each being dead-lettered.
        middleware: [
          rateLimit(app.rateLimiter, {
            name: 'alarms',
            limit: 10,
            windowMs: 60_000,
            key: (ctx) =>
              `${claimedSeverity(ctx) === 'critical' ? 'critical' : 'other'}:${ctx.params.deviceId}`,
          }),
          validate(alarmSchema),
        ],
      });
    },
  );
});

/** The `severity` an alarm's payload claims, before it is validated (undefined when none). */
function claimedSeverity(ctx: MessageContext): unknown {
  try {
    const body = ctx.json;
    return typeof body === 'object' && body !== null ? (body as { severity?: unknown }).severity : undefined;
  } catch {
    return undefined; // not JSON: validation refuses it next
  }
}
