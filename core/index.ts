/**
 * Topiq's public entry. The user's code under `app/` imports from here only.
 */
export { Application, type ApplicationOptions } from './application.js';
export { type ConfigSection, defineConfig } from './config/define_config.js';
export * from './errors.js';
export { createLogger, type Logger, silentLogger } from './logger.js';
export * from './queue/index.js';
