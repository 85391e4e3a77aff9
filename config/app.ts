/** Application-wide settings. */
import { z } from 'zod';
import { defineConfig } from '../core/index.js';

export default defineConfig(
  'app',
  z.object({
    APP_NAME: z.string().default('topiq'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  }),
  (env) => ({ name: env.APP_NAME, logLevel: env.LOG_LEVEL }),
);
