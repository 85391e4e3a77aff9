/**
 * Starting a job by type name over MQTT: a message on `<command topic>/<JobName>` with
 * `{ "payload": {...}, "options": { "delay": 10, "priority": -1, "queue": "...", "hold": true } }`
 * dispatches that job after checking the name against the registry and the payload
 * against the job's schema. Off unless `JOB_COMMAND_TOPIC` is set. Only service clients
 * may use it: the embedded broker's device ACL keeps devices under `devices/<id>/...`,
 * and this handler refuses any message that came from an authenticated device. With an
 * external broker, restrict the topic in that broker's ACL. An MQTT 5 request with a
 * response topic gets `{ "id": "<job id>" }` or `{ "error": { code, message } }` back, when
 * that topic is under the reply prefix (`JOB_COMMAND_REPLY_TOPIC`, default `topiq/replies`):
 * the app publishes with its own rights, so a requester may not choose just any topic.
 */
import { InvalidMessageError, InvalidOptionError, isTopiqError } from '../errors.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import { type DispatchOptions, expiresBeforeStart } from '../queue/dispatch_options.js';
import { shownValue } from '../support/text.js';
import type { MessageContext } from './message_context.js';
import { DEFAULT_REPLY_TOPIC, isReplyTopic, replyTopicRefusal } from './reply_topic.js';
import type { AppRouteTable } from './message_pipeline.js';

// The pattern's prefix comes from config, so its params are only known at run time.
type CommandParams = Readonly<Record<string, string>>;

/** The options a command may carry: the JSON type each must have, and what it holds. */
const OPTIONS: Readonly<
  Record<keyof DispatchOptions, { type: 'string' | 'number' | 'boolean'; holds: string }>
> = {
  queue: { type: 'string', holds: 'a queue name' },
  priority: { type: 'number', holds: 'an integer from -1000 to 1000' },
  delay: { type: 'number', holds: 'seconds' },
  runAt: { type: 'number', holds: 'epoch milliseconds' },
  expiresAt: { type: 'number', holds: 'epoch milliseconds' },
  maxTries: { type: 'number', holds: 'a whole number of tries' },
  jobId: { type: 'string', holds: 'your own job id' },
  hold: { type: 'boolean', holds: 'true or false' },
  owner: { type: 'string', holds: 'who the job is for: a device id, an account or a tenant' },
  description: { type: 'string', holds: 'what the job does, in one line' },
};
const COMMAND_KEYS = new Set(['payload', 'options']);

function readCommand(ctx: MessageContext<CommandParams>): {
  payload: unknown;
  options: DispatchOptions;
} {
  const body = ctx.json;
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !('payload' in body)) {
    throw new InvalidMessageError(
      'a job command must be a JSON object like { "payload": {...}, "options": {...} }',
    );
  }
  const stray = Object.keys(body).filter((key) => !COMMAND_KEYS.has(key));
  if (stray.length > 0) {
    throw new InvalidMessageError(
      `a job command holds only "payload" and "options"; found ${stray.map((key) => JSON.stringify(key)).join(', ')} (dispatch options go inside "options")`,
    );
  }
  const { payload, options = {} } = body as { payload: unknown; options?: unknown };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidMessageError('"options" of a job command must be an object');
  }
  const allowed = Object.keys(OPTIONS).join(', ');
  for (const [key, value] of Object.entries(options)) {
    if (!Object.hasOwn(OPTIONS, key)) {
      throw new InvalidOptionError(`unknown dispatch option ${JSON.stringify(key)}; allowed: ${allowed}`);
    }
    const { type, holds } = OPTIONS[key as keyof DispatchOptions];
    // typeof null is 'object': a null option is refused too, not taken for "absent"
    if (typeof value !== type) {
      throw new InvalidOptionError(
        `dispatch option "${key}" must be a JSON ${type} (${holds}); got ${shownValue(value)}`,
      );
    }
  }
  const checked = options as DispatchOptions;
  if (checked.delay !== undefined && checked.runAt !== undefined) {
    throw new InvalidOptionError(
      'dispatch options "delay" and "runAt" both say when the job may run; give one of them',
    );
  }
  const early = expiresBeforeStart(checked);
  if (early) {
    throw new InvalidOptionError(
      `expiresAt ${early.expiresAt} is not after the time the job may run (${early.earliest}), so it would expire without running; times are epoch milliseconds`,
    );
  }
  return { payload, options: checked };
}

/**
 * Adds the job command route to `routes` under `topic` (e.g. `topiq/commands/jobs`). Replies go
 * only to response topics under `settings.replyTopic` (default `topiq/replies`).
 */
export function addJobCommandRoute(
  routes: AppRouteTable,
  topic: string,
  dispatcher: Dispatcher,
  settings: { replyTopic?: string } = {},
): void {
  const replyTopic = settings.replyTopic ?? DEFAULT_REPLY_TOPIC;
  // Shared: app instances on one external broker take turns, so each command is dispatched once
  // (all of them would get it with a plain subscription). Through the table's default group,
  // as `shared: true` routes go; MQTT_SHARED_SUBSCRIPTIONS=false subscribes plainly.
  const handler = async function dispatchJobCommand(ctx: MessageContext<CommandParams>) {
    const name = ctx.params.jobName ?? '';
    const { responseTopic } = ctx.properties;
    const answered = responseTopic !== undefined && isReplyTopic(responseTopic, replyTopic);
    let id: string;
    let duplicate = false;
    try {
      if (ctx.deviceId !== undefined) {
        throw new InvalidMessageError(`device ${ctx.deviceId} may not start jobs; only service accounts may`);
      }
      // An empty retained message is how a retained command is cleared, as the refusal below
      // advises. The broker passes it on to the app's subscription too, flagged retained or
      // not (brokers differ); it is no command, and storing it as a failed message would only
      // punish following that advice. An empty request that asks for a reply is answered.
      if (ctx.payload.length === 0 && (ctx.retain || responseTopic === undefined)) {
        ctx.log.info(
          { event: 'job.command_cleared', topic: ctx.topic },
          'empty message on the job command topic (a retained command cleared): nothing to dispatch',
        );
        return;
      }
      // A broker replays a retained message to every new subscription, so a retained command
      // would start its job again each time the app (re)subscribes: it arrives marked retained.
      if (ctx.retain) {
        throw new InvalidMessageError(
          `job commands must not be retained: a retained command is replayed, and would be dispatched again, whenever the app subscribes; publish it with retain false, and clear the retained one by publishing an empty retained message to ${ctx.topic}`,
        );
      }
      if (responseTopic !== undefined && !answered) {
        throw new InvalidMessageError(`a job command ${replyTopicRefusal(responseTopic, replyTopic)}`);
      }
      const { payload, options } = readCommand(ctx);
      const checked = dispatcher.checkByName(name, payload);
      // through the ingest batcher, as a route's jobs go: while Redis is away the message stays
      // unacknowledged and the job is stored once it is back, instead of the command being lost
      const dispatched = await ctx.dispatchWithOutcome(checked.job, checked.payload as never, options);
      id = dispatched.id;
      // a generated id meets itself only when a lost reply made the store run again
      duplicate = options.jobId !== undefined && dispatched.outcome === 'duplicate';
    } catch (error) {
      if (answered) {
        const code = isTopiqError(error) ? error.code : 'E_UNKNOWN';
        await ctx.reply({ error: { code, message: (error as Error).message } }).catch(() => {});
      }
      throw error;
    }
    if (duplicate) {
      ctx.log.info(
        { event: 'job.command_duplicate', job: name, jobId: id },
        'job command for a job id that exists already: nothing dispatched',
      );
    } else {
      ctx.log.info({ event: 'job.command', job: name, jobId: id }, 'job dispatched by MQTT command');
    }
    // the job is stored: a reply that cannot be sent is logged, not taken for a failed command
    if (answered) {
      await ctx
        .reply(duplicate ? { id, duplicate: true } : { id })
        .catch((error: unknown) =>
          ctx.log.warn(
            { event: 'job.command_reply_failed', err: error, job: name, jobId: id },
            'could not send the reply to a job command; the job was dispatched',
          ),
        );
    }
  };
  routes.on(`${topic}/{jobName}`, handler, { shared: true });
}
