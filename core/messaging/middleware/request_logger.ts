/**
 * One structured log line per message, written when the rest of the chain (later
 * middleware and the handler) has finished: what came in, how long it took and how it
 * ended. Put it first in the global middleware so it times and sees everything.
 */
import { type Level, levels } from 'pino';
import { InvalidOptionError, isTopiqError } from '../../errors.js';
import type { Middleware } from '../../routing/compose.js';
import { GIVEN_UP, type MessageContext } from '../message_context.js';

const LEVELS = Object.keys(levels.values);

/** Options for {@link requestLogger}. */
export interface RequestLoggerOptions {
  /** Level of the line for a handled message. Default `info`. */
  level?: Level;
  /** Level of the line for a message whose chain threw. Default: the same as `level`. */
  errorLevel?: Level;
}

/**
 * Logs `{ event: 'message.processed', topic, route, qos, bytes, deviceId, clientId,
 * durationMs, outcome }` once per message, with `outcome` `handled` or `error` (then
 * also `code`, the error's stable code when it has one, else its name). Errors are
 * rethrown unchanged, so the pipeline still dead-letters the message. `durationMs`
 * covers what the chain awaited; jobs dispatched without `await` are stored after it.
 *
 * @throws InvalidOptionError at once when `level` or `errorLevel` is not one of pino's
 *   levels (`trace`, `debug`, `info`, `warn`, `error`, `fatal`).
 * @example
 * new MessagePipeline({ ...options, middleware: [requestLogger({ level: 'debug' })] });
 * // {"level":30,"topic":"devices/d1/telemetry","route":"devices/{deviceId}/telemetry",
 * //  "event":"message.processed","qos":1,"bytes":18,"deviceId":"d1","durationMs":1.42,"outcome":"handled"}
 */
export function requestLogger(options: RequestLoggerOptions = {}): Middleware<MessageContext<any>> {
  const level = options.level ?? 'info';
  const errorLevel = options.errorLevel ?? level;
  // checked now: a bad level would throw after each handler ran, in place of its own error
  for (const [option, value] of [
    ['level', level],
    ['errorLevel', errorLevel],
  ] as const) {
    if (!LEVELS.includes(value)) {
      throw new InvalidOptionError(
        `requestLogger ${option} ${JSON.stringify(value)} must be one of pino's levels: ${LEVELS.join(', ')}`,
      );
    }
  }
  return async function requestLoggerMiddleware(ctx, next) {
    const started = performance.now();
    const line = () => ({
      // ctx.log is already bound to the message's topic and route.
      event: 'message.processed',
      qos: ctx.qos,
      bytes: ctx.payload.length,
      deviceId: ctx.deviceId,
      clientId: ctx.clientId,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
    });
    try {
      await next();
    } catch (error) {
      // a message given up for its deadline failed for that, whatever its handler threw after
      const cause = ctx[GIVEN_UP] ?? error;
      const code = isTopiqError(cause) ? cause.code : cause instanceof Error ? cause.name : 'unknown';
      ctx.log[errorLevel]({ ...line(), outcome: 'error', code }, 'message failed');
      throw error;
    }
    const givenUp = ctx[GIVEN_UP];
    if (givenUp) {
      // its handler returned after the message was given up and dead-lettered
      ctx.log[errorLevel]({ ...line(), outcome: 'error', code: 'E_HANDLER_TIMEOUT' }, givenUp.message);
      return;
    }
    ctx.log[level]({ ...line(), outcome: 'handled' }, 'message handled');
  };
}
