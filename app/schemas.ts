/** Payload schemas of the messages devices publish (validated by route middleware). */
import { z } from 'zod';

export const telemetrySchema = z.object({
  temperature: z.number().min(-100).max(200),
  humidity: z.number().min(0).max(100).optional(),
  at: z.string().datetime().optional(),
});
export type TelemetryPayload = z.infer<typeof telemetrySchema>;

export const statusSchema = z.object({
  online: z.boolean(),
  battery: z.number().min(0).max(100).optional(),
  firmware: z.string().max(64).optional(),
});
export type StatusPayload = z.infer<typeof statusSchema>;

export const alarmSchema = z.object({
  severity: z.enum(['info', 'warning', 'critical']),
  message: z.string().max(500),
});
export type AlarmPayload = z.infer<typeof alarmSchema>;
