/**
 * Topiq's public entry. The user's code under `app/` imports from here only.
 */
export { Application, type ApplicationOptions } from './application.js';
export { type ConfigSection, defineConfig } from './config/define_config.js';
export type { AppSettings, MqttAccount, MqttSettings, QueueSettings } from './config/settings.js';
export * from './errors.js';
export { createLogger, type Logger, silentLogger } from './logger.js';
export * from './queue/index.js';
export * from './messaging/index.js';
export { compose, type Middleware, RouteTable, formatRouteTable, type ParamsOf } from './routing/index.js';
export { type InProcessWorkers, Server, type ServerOptions } from './server.js';
export * from './messaging/middleware/index.js';
export * from './testing/index.js';
