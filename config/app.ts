/** Application-wide settings. */
import { z } from 'zod';
import { defineConfig } from '../core/index.js';

export default defineConfig(
  'app',
  z.object({
    // read as production by the queue and MQTT sections only when exactly `production`: a value
    // that means it otherwise (` production`, `Production`) would leave the memory driver and
    // development auth allowed without a word, so it is refused
    NODE_ENV: z
      .string()
      .refine((value) => value === 'production' || value.trim().toLowerCase() !== 'production', {
        message: 'write production exactly (lowercase, no spaces), or the production checks do not apply',
      })
      .optional(),
    APP_NAME: z.string().default('topiq'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }),
  (env) => ({ name: env.APP_NAME, logLevel: env.LOG_LEVEL }),
);
