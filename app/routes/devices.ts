/**
 * Routes for device traffic. Every device publishes under `devices/<its id>/...`; the
 * embedded broker's ACL refuses a device publishing under another id. Every route is
 * validated and rate limited per device (each with a budget of its own: alarms feed the most
 * urgent queue, which no device may flood); a bad payload is dead-lettered with its reason.
 */
import { bodyOf, defineRoutes, rateLimit, requestLogger, validate } from '../../core/index.js';
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
        // First a budget for whatever the device sends here, valid or not: the severity budgets
        // below need the body, so without it every invalid alarm would be dead-lettered, and a
        // device could fill the dead-letter store. Then critical alarms on a budget of their own:
        // a run of minor ones never holds one back.
        middleware: [
          rateLimit(app.rateLimiter, { name: 'alarms-any', limit: 30, windowMs: 60_000 }),
          validate(alarmSchema),
          rateLimit(app.rateLimiter, {
            name: 'alarms',
            limit: 10,
            windowMs: 60_000,
            key: (ctx) =>
              `${bodyOf(ctx, alarmSchema).severity === 'critical' ? 'critical' : 'other'}:${ctx.params.deviceId}`,
          }),
        ],
      });
    },
  );
});
