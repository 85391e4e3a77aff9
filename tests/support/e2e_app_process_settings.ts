/**
 * The settings of an end-to-end app process and their environment encoding, shared by
 * the parent (`e2e_app_processes.ts`) and the process (`e2e_app_process.ts`), which must
 * not be imported by the parent: importing it would start an app.
 */

/** `block`: the route journals the message and never returns; `dispatch`: it stores the job. */
export type AppProcessMode = 'block' | 'dispatch';

/** What an app process is started with. */
export interface AppProcessSettings {
  redisUrl: string;
  /** Redis key prefix (QUEUE_PREFIX) of the app and of the journal. */
  prefix: string;
  mqttUrl: string;
  /** Fixed MQTT client id: the broker keeps the app's persistent session under it. */
  clientId: string;
  sharedGroup: string;
  /** The route is `<topicPrefix>/devices/{deviceId}/telemetry`. */
  topicPrefix: string;
  mode: AppProcessMode;
  /** pino level of the process's log (written to stderr). Default `warn`. */
  logLevel?: string;
}

/** The environment variable of each setting. */
export const APP_PROCESS_ENV = {
  redisUrl: 'TOPIQ_E2E_REDIS_URL',
  prefix: 'TOPIQ_E2E_PREFIX',
  mqttUrl: 'TOPIQ_E2E_MQTT_URL',
  clientId: 'TOPIQ_E2E_CLIENT_ID',
  sharedGroup: 'TOPIQ_E2E_SHARED_GROUP',
  topicPrefix: 'TOPIQ_E2E_TOPIC_PREFIX',
  mode: 'TOPIQ_E2E_MODE',
  logLevel: 'TOPIQ_E2E_LOG_LEVEL',
} as const satisfies Record<keyof AppProcessSettings, string>;

/** Redis list where the process journals every message its route receives. */
export const receivedKey = (prefix: string): string => `${prefix}:e2e:received`;

/** One journal entry. */
export interface ReceivedEntry {
  pid: number;
  /** The MQTT DUP flag: true when the broker redelivers. */
  dup: boolean;
  payload: string;
}

export function settingsToEnv(settings: AppProcessSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of Object.keys(APP_PROCESS_ENV) as (keyof AppProcessSettings)[]) {
    const value = settings[key];
    if (value !== undefined) env[APP_PROCESS_ENV[key]] = value;
  }
  return env;
}

export function settingsFromEnv(env: NodeJS.ProcessEnv): AppProcessSettings {
  const read = (key: keyof AppProcessSettings): string => {
    const value = env[APP_PROCESS_ENV[key]];
    if (!value) throw new Error(`${APP_PROCESS_ENV[key]} is required`);
    return value;
  };
  const mode = read('mode');
  if (mode !== 'block' && mode !== 'dispatch') throw new Error(`unknown mode ${mode}`);
  return {
    redisUrl: read('redisUrl'),
    prefix: read('prefix'),
    mqttUrl: read('mqttUrl'),
    clientId: read('clientId'),
    sharedGroup: read('sharedGroup'),
    topicPrefix: read('topicPrefix'),
    mode,
    logLevel: env[APP_PROCESS_ENV.logLevel] || 'warn',
  };
}
