/** Builds the server behind `npx topiq serve`: the application, its routes, the MQTT gateway. */
import { readAppConfig } from './config.js';
import { type AppRouteTable, type MqttSettings, Server } from '../core/index.js';
import { type CreateApplicationOptions, createApplication } from './app.js';
import { loadRoutes } from './routes.js';

export interface CreateServerOptions extends CreateApplicationOptions {
  /** Override MQTT settings read from the environment (tests). */
  mqtt?: Partial<MqttSettings>;
  /** Use this route table instead of `app/routes/` (tests). */
  routes?: AppRouteTable;
}

/** Reads config, loads routes, and builds a (not yet started) server. */
export async function createServer(options: CreateServerOptions = {}): Promise<Server> {
  const env = options.env ?? process.env;
  // every section checked before anything starts, so all bad values are reported at once
  const { mqtt: mqttSettings, ...settings } = readAppConfig(env);
  const app = createApplication(options, settings);
  try {
    const mqtt = { ...mqttSettings, ...options.mqtt };
    const routes = options.routes ?? (await loadRoutes(app, mqtt.sharedGroup));
    return new Server({ app, mqtt, routes });
  } catch (error) {
    await app.close();
    throw error;
  }
}
