/**
 * MQTT settings. With no `MQTT_URL` the app runs its own embedded broker on
 * `MQTT_BROKER_PORT`; with `MQTT_URL` it subscribes to that broker instead.
 */
import { z } from 'zod';
import { defineConfig, type MqttAccount } from '../core/index.js';
import { envInteger, envMs, envServerUrl, envSwitch, SWITCH_WORDS } from '../core/config/env_schemas.js';
import { DEFAULT_MAX_PACKET_BYTES, PACKET_LIMIT_RANGE } from '../core/broker/packet_size_guard.js';
import { staticCredentials } from '../core/broker/static_credentials.js';
import { DEFAULT_QUEUE_LIMITS } from '../core/broker/outgoing_queue_limit.js';
import { DEFAULT_RETAINED_LIMITS } from '../core/broker/retained_budget.js';
import { DEFAULT_SESSION_LIMITS } from '../core/broker/session_limits.js';
import { eventTopicProblem } from '../core/messaging/job_event_bridge.js';
import { DEFAULT_HANDLER_TIMEOUT_MS } from '../core/messaging/handler_deadline.js';
import { DEFAULT_REPLY_TOPIC, isUnderTopic } from '../core/messaging/reply_topic.js';
import { topicNameProblem } from '../core/mqtt/topic_name.js';

/** The job event topic `JOB_EVENTS_TOPIC=on` stands for. */
const DEFAULT_EVENTS_TOPIC = 'topiq/jobs/{queue}/{id}/{status}';

/**
 * A topic prefix the app subscribes or publishes under (the job command topic, the reply
 * prefix): trailing slashes dropped, the rule of every topic the app publishes to, no empty
 * level (`a//b` matches nothing anyone means), no broker (`$`) topics and no `{...}` (the
 * command topic becomes a route pattern, where braces name a parameter).
 */
function topicPrefix(example: string) {
  return z
    .string()
    .transform((prefix) => prefix.replace(/\/+$/, ''))
    .superRefine((prefix, context) => {
      const problem = prefix.startsWith('$')
        ? 'it may not start with $ (broker topics)'
        : /[{}]/.test(prefix)
          ? 'it may not hold { or }'
          : (topicNameProblem(prefix)?.replace('it is empty', 'it names no topic') ??
            (prefix.split('/').includes('') ? 'it has an empty level (// or a leading /)' : undefined));
      if (problem) {
        context.addIssue({
          code: 'custom',
          message: `a topic prefix without wildcards, e.g. ${example}: ${problem}`,
        });
      }
    });
}

/** `id:password,id2:scrypt:salt:hash` (the password is everything after the first ':'). */
function parseAccounts(list: string | undefined, devices: boolean): MqttAccount[] {
  if (!list) return [];
  return list
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const colon = entry.indexOf(':');
      if (colon <= 0 || colon === entry.length - 1) {
        throw new Error(`"${entry.split(':')[0]}" must be written as name:password`);
      }
      const username = entry.slice(0, colon);
      return { username, password: entry.slice(colon + 1), ...(devices ? { deviceId: username } : {}) };
    });
}

const accounts = (devices: boolean) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      try {
        const parsed = parseAccounts(value, devices);
        // the checks the broker makes of its accounts (a username twice, a malformed scrypt
        // hash, an unsafe device id), made now so the error names this variable
        staticCredentials(parsed);
        return parsed;
      } catch (error) {
        const message = (error as Error).message
          .replace(/^credentials\[(\d+)\]/, (_all, index: string) => `entry ${Number(index) + 1}`)
          .replace(/\.$/, '');
        ctx.addIssue({ code: 'custom', message });
        return z.NEVER;
      }
    });

export default defineConfig(
  'mqtt',
  z
    .object({
      NODE_ENV: z.string().optional(),
      MQTT_URL: envServerUrl(
        ['mqtt', 'mqtts', 'ws', 'wss', 'tcp', 'ssl'],
        'mqtt://127.0.0.1:1883',
      ).optional(),
      MQTT_CLIENT_ID: z
        .string()
        .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
        .default('topiq-app'),
      MQTT_USERNAME: z.string().optional(),
      MQTT_PASSWORD: z.string().optional(),
      MQTT_PROTOCOL_VERSION: z.enum(['4', '5']).default('5'),
      MQTT_MAX_IN_FLIGHT: envInteger(20000, { min: 1, max: 65535 }),
      MQTT_HANDLER_TIMEOUT_MS: envMs(DEFAULT_HANDLER_TIMEOUT_MS),
      MQTT_SHARED_GROUP: z
        .string()
        .regex(/^[^/+#]+$/, 'may not contain / + or #')
        .default('topiq'),
      MQTT_BROKER_HOST: z.string().default('0.0.0.0'),
      MQTT_BROKER_PORT: envInteger(1883, { max: 65535 }),
      MQTT_BROKER_MAX_PACKET_BYTES: envInteger(DEFAULT_MAX_PACKET_BYTES, PACKET_LIMIT_RANGE),
      MQTT_BROKER_MAX_RETAINED: envInteger(DEFAULT_RETAINED_LIMITS.maxTopics),
      MQTT_BROKER_MAX_RETAINED_BYTES: envInteger(DEFAULT_RETAINED_LIMITS.maxBytes),
      MQTT_BROKER_MAX_QUEUED: envInteger(DEFAULT_QUEUE_LIMITS.maxMessages),
      MQTT_BROKER_MAX_QUEUED_BYTES: envInteger(DEFAULT_QUEUE_LIMITS.maxBytes),
      MQTT_BROKER_MAX_SESSIONS: envInteger(DEFAULT_SESSION_LIMITS.maxClientIds, { min: 1 }),
      MQTT_BROKER_MAX_SUBSCRIPTIONS: envInteger(DEFAULT_SESSION_LIMITS.maxSubscriptions),
      MQTT_BROKER_CLIENT_IDS: z.enum(['any', 'device-id']).default('any'),
      MQTT_SHARED_SUBSCRIPTIONS: envSwitch(true),
      MQTT_SHARED_LEAVE_ON_STOP: envSwitch(false),
      JOB_EVENTS_TOPIC: z
        .string()
        // the switches JOB_EVENTS_PROGRESS takes too: true/1 are on, false/0 off (a topic named
        // `false` would take every job event)
        .transform((value) => {
          const word = value.trim().toLowerCase();
          // a switch's word, whatever its case and blanks
          if (!Object.hasOwn(SWITCH_WORDS, word)) return value;
          return SWITCH_WORDS[word] ? 'on' : 'off';
        })
        .superRefine((template, context) => {
          if (template === 'on' || template === 'off') return;
          if (/^\s*(yes|no)\s*$/i.test(template)) {
            context.addIssue({
              code: 'custom',
              message: `on or off (or true/false, 1/0), not ${template.trim()}: a topic of that name would take every job event`,
            });
            return;
          }
          const problem = eventTopicProblem(template);
          if (problem) {
            context.addIssue({
              code: 'custom',
              message: `on, off, or a topic template without wildcards (+, #) such as ${DEFAULT_EVENTS_TOPIC}: ${problem}`,
            });
          }
        })
        .optional(),
      JOB_EVENTS_PROGRESS: envSwitch(true),
      JOB_COMMAND_TOPIC: topicPrefix('topiq/commands/jobs').optional(),
      JOB_COMMAND_REPLY_TOPIC: topicPrefix(DEFAULT_REPLY_TOPIC).default(DEFAULT_REPLY_TOPIC),
      MQTT_AUTH: z.enum(['credentials', 'development']).optional(),
      MQTT_DEVICES: accounts(true),
      MQTT_SERVICE_ACCOUNTS: accounts(false),
    })
    .refine(
      (env) => {
        const devices = new Set(env.MQTT_DEVICES.map((account) => account.username));
        return !env.MQTT_SERVICE_ACCOUNTS.some((account) => devices.has(account.username));
      },
      {
        message: 'a username is both a device and a service account; give each account one username',
        path: ['MQTT_SERVICE_ACCOUNTS'],
      },
    )
    .refine(
      (env) => {
        const commands = env.JOB_COMMAND_TOPIC;
        const replies = env.JOB_COMMAND_REPLY_TOPIC;
        if (commands === undefined) return true;
        return !isUnderTopic(commands, replies) && !isUnderTopic(replies, commands);
      },
      {
        message:
          'the job command topic and the reply prefix may not be one inside the other: the app would take its own replies for commands; give them apart prefixes, e.g. topiq/commands/jobs and topiq/replies',
        path: ['JOB_COMMAND_TOPIC'],
      },
    )
    .refine((env) => !(env.NODE_ENV === 'production' && env.MQTT_AUTH === 'development'), {
      message: 'MQTT_AUTH=development accepts any device without a password; it is refused in production',
      path: ['MQTT_AUTH'],
    }),
  (env) => ({
    url: env.MQTT_URL,
    clientId: env.MQTT_CLIENT_ID,
    username: env.MQTT_USERNAME,
    password: env.MQTT_PASSWORD,
    protocolVersion: env.MQTT_PROTOCOL_VERSION === '4' ? (4 as const) : (5 as const),
    maxInFlight: env.MQTT_MAX_IN_FLIGHT,
    handlerTimeoutMs: env.MQTT_HANDLER_TIMEOUT_MS,
    sharedGroup: env.MQTT_SHARED_GROUP,
    sharedSubscriptions: env.MQTT_SHARED_SUBSCRIPTIONS,
    sharedLeaveOnStop: env.MQTT_SHARED_LEAVE_ON_STOP,
    // Opt-in: republishing every job event costs the ingest process about as much CPU as
    // ingest itself at 10k jobs/s (measured in bench/e2e_bench.ts), so it is off by default.
    // `on` means the default template.
    jobEventsTopic:
      env.JOB_EVENTS_TOPIC === undefined || env.JOB_EVENTS_TOPIC === 'off'
        ? undefined
        : env.JOB_EVENTS_TOPIC === 'on'
          ? DEFAULT_EVENTS_TOPIC
          : env.JOB_EVENTS_TOPIC,
    jobEventsProgress: env.JOB_EVENTS_PROGRESS,
    jobCommandTopic: env.JOB_COMMAND_TOPIC,
    jobCommandReplyTopic: env.JOB_COMMAND_REPLY_TOPIC,
    broker: {
      host: env.MQTT_BROKER_HOST,
      port: env.MQTT_BROKER_PORT,
      maxPacketBytes: env.MQTT_BROKER_MAX_PACKET_BYTES,
      retained: { maxTopics: env.MQTT_BROKER_MAX_RETAINED, maxBytes: env.MQTT_BROKER_MAX_RETAINED_BYTES },
      queues: { maxMessages: env.MQTT_BROKER_MAX_QUEUED, maxBytes: env.MQTT_BROKER_MAX_QUEUED_BYTES },
      deviceClientIds: env.MQTT_BROKER_CLIENT_IDS,
      sessions: {
        maxClientIds: env.MQTT_BROKER_MAX_SESSIONS,
        maxSubscriptions: env.MQTT_BROKER_MAX_SUBSCRIPTIONS,
      },
      // Zero setup: with no device list outside production, any safe device id may connect.
      auth:
        env.MQTT_AUTH ??
        (env.MQTT_DEVICES.length === 0 && env.NODE_ENV !== 'production'
          ? ('development' as const)
          : ('credentials' as const)),
      accounts: [...env.MQTT_DEVICES, ...env.MQTT_SERVICE_ACCOUNTS],
    },
  }),
);
