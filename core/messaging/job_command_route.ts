/**
 * Starting a job by type name over MQTT: a message on `<command topic>/<JobName>` with
 * `{ "payload": {...}, "options": { "delay": 10, "priority": -1, "queue": "...", "hold": true } }`
 * dispatches that job after checking the name against the registry and the payload
 * against the job's schema. Off unless `JOB_COMMAND_TOPIC` is set. Only service clients
 * may use it: the embedded broker's device ACL keeps devices under `devices/<id>/...`,
 * and this handler refuses any message that came from an authenticated device. With an
 * external broker, restrict the topic in that broker's ACL. An MQTT 5 request with a
 * response topic gets `{ "id": "<job id>" }` or `{ "error": { code, message } }` back.
 */
import { InvalidMessageError, InvalidOptionError, isTopiqError } from '../errors.js';
import type { Dispatcher } from '../queue/dispatcher.js';
import type { DispatchOptions } from '../queue/dispatch_options.js';
import type { MessageContext } from './message_context.js';
import type { AppRouteTable } from './message_pipeline.js';

// The pattern's prefix comes from config, so its params are only known at run time.
type CommandParams = Readonly<Record<string, string>>;

const OPTION_KEYS = new Set([
  'queue',
  'priority',
  'delay',
  'runAt',
  'expiresAt',
  'maxTries',
  'jobId',
  'hold',
]);

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
  const { payload, options = {} } = body as { payload: unknown; options?: unknown };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidMessageError('"options" of a job command must be an object');
  }
  const unknown = Object.keys(options).filter((key) => !OPTION_KEYS.has(key));
  if (unknown.length > 0) {
    throw new InvalidOptionError(
      `unknown dispatch option(s) ${unknown.join(', ')}; allowed: ${[...OPTION_KEYS].join(', ')}`,
    );
  }
  return { payload, options: options as DispatchOptions };
}

/** Adds the job command route to `routes` under `topic` (e.g. `topiq/commands/jobs`). */
export function addJobCommandRoute(routes: AppRouteTable, topic: string, dispatcher: Dispatcher): void {
  routes.on(`${topic}/{jobName}`, async function dispatchJobCommand(ctx: MessageContext<CommandParams>) {
    try {
      if (ctx.deviceId !== undefined) {
        throw new InvalidMessageError(`device ${ctx.deviceId} may not start jobs; only service accounts may`);
      }
      const { payload, options } = readCommand(ctx);
      const id = await dispatcher.dispatchByName(ctx.params.jobName ?? '', payload, options);
      ctx.log.info(
        { event: 'job.command', job: ctx.params.jobName ?? '', jobId: id },
        'job dispatched by MQTT command',
      );
      if (ctx.properties.responseTopic) await ctx.reply({ id });
    } catch (error) {
      if (ctx.properties.responseTopic) {
        const code = isTopiqError(error) ? error.code : 'E_UNKNOWN';
        await ctx.reply({ error: { code, message: (error as Error).message } }).catch(() => {});
      }
      throw error;
    }
  });
}
