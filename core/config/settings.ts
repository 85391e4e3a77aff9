/** The typed settings the framework reads; `config/*.ts` produce them from the environment. */
import type { DeviceClientIds } from '../broker/access_control.js';
import type { QueueLimits } from '../broker/outgoing_queue_limit.js';
import type { RetainedLimits } from '../broker/retained_budget.js';
import type { SessionLimits } from '../broker/session_limits.js';
import type { RetentionSettings } from '../queue/driver.js';

export interface AppSettings {
  name: string;
  logLevel: string;
}

export interface QueueSettings {
  driver: 'redis' | 'memory';
  /**
   * True when the in-memory driver was chosen under `NODE_ENV=production` without being asked
   * for (no `REDIS_URL`, no `QUEUE_DRIVER`): the commands that take or run jobs refuse to run so
   * (`assertDurableDriver`).
   */
  memoryInProduction?: boolean;
  redisUrl: string;
  prefix: string;
  leaseMs: number;
  retention: RetentionSettings;
  failedCount: number;
  progressIntervalMs: number;
  shutdownGraceMs: number;
  /** Ms between worker heartbeats. */
  heartbeatMs: number;
  /** Publish job status changes (in-process listeners, MQTT bridge). */
  events: boolean;
  /**
   * Queues, concurrency and prefetch (undefined: the worker decides) of the workers
   * `serve --workers` runs in-process.
   */
  worker: { queues: string[] | undefined; concurrency: number; prefetch: number | undefined };
}

/** One MQTT account from config (`MQTT_DEVICES`, `MQTT_SERVICE_ACCOUNTS`). */
export interface MqttAccount {
  username: string;
  /** Plaintext or `scrypt:<salt>:<hash>`. */
  password: string;
  /** Set for devices; absent for service accounts. */
  deviceId?: string;
}

export interface MqttSettings {
  /** An external broker to connect to; when absent the embedded broker runs. */
  url: string | undefined;
  clientId: string;
  username: string | undefined;
  password: string | undefined;
  protocolVersion: 4 | 5;
  maxInFlight: number;
  /**
   * Longest a message's middleware and handler may run, in ms of their own, before the message
   * is dead-lettered with `E_HANDLER_TIMEOUT` (0: no deadline). Optional for settings built in code.
   */
  handlerTimeoutMs?: number;
  /** Group of `shared: true` routes (`$share/<group>/...`). */
  sharedGroup: string;
  /** False for brokers without shared subscriptions (aedes): shared routes subscribe plainly. */
  sharedSubscriptions: boolean;
  /**
   * Whether a stopping app leaves its shared groups, so the other instances take every message
   * at once (default false: the persistent session keeps them, and the broker queues this
   * instance's share for its next run; a lone instance that left would lose what comes meanwhile).
   */
  sharedLeaveOnStop?: boolean;
  /** Topic template job status changes are published on, or undefined to not publish. */
  jobEventsTopic: string | undefined;
  /** Whether progress reports go out on that template too (`{status}` as `progress`). */
  jobEventsProgress: boolean;
  /** Prefix of the job command topic (`<prefix>/<JobName>`), or undefined when off. */
  jobCommandTopic: string | undefined;
  /**
   * The only topics job commands are answered on: this prefix and the topics under it. A
   * command asking for a reply elsewhere is refused, so a client cannot make the app publish
   * where the client itself may not.
   */
  jobCommandReplyTopic: string;
  broker: {
    host: string;
    port: number;
    /** Largest packet a client may send (bytes of remaining length); a CONNECT at most 64 KiB. */
    maxPacketBytes: number;
    /** Retained messages each device may hold: topics, and payload bytes over all of them. */
    retained: RetainedLimits;
    /** Messages held for each client with a persistent session: count and payload bytes. */
    queues: QueueLimits;
    /** Which client ids a device may connect with: any free one, or only its device id. */
    deviceClientIds: DeviceClientIds;
    /** Client ids each device may hold at once, and subscriptions each of them may hold. */
    sessions: SessionLimits;
    /** `development` accepts any safe username as a device id without a password. */
    auth: 'credentials' | 'development';
    accounts: MqttAccount[];
  };
}
