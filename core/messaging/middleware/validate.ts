/**
 * Payload validation per route. `validate(schema)` parses the payload as JSON, checks it
 * against the schema and puts the result in `ctx.body`; a payload that is not JSON or
 * fails the schema is refused with `E_INVALID_MESSAGE`, which the pipeline logs and
 * dead-letters with the reasons. Any object with a zod-style `safeParse` is a schema, so
 * zod is not a dependency of this module.
 */
import { describeSchemaFailure, type PayloadSchema } from '../../support/schema.js';
import { truncate } from '../../support/text.js';
import { InvalidMessageError, InvalidRouteError } from '../../errors.js';
import type { Middleware } from '../../routing/compose.js';
import { type MessageContext, shownTopic } from '../message_context.js';

export type { PayloadSchema, SafeParseResult } from '../../support/schema.js';

/** The type a schema produces, e.g. `SchemaOutput<typeof telemetrySchema>`. */
export type SchemaOutput<S> = S extends PayloadSchema<infer T> ? T : never;

/** Options for {@link validate}. */
export interface ValidateOptions {
  /** How many issues the reason lists before "and N more". Default 5. */
  maxIssues?: number;
  /** Longest reason, in characters, before it is cut. Default 500. */
  maxReasonLength?: number;
}

// What each schema that ran for a context produced: a route may validate twice (a group's
// envelope schema, then the route's own), and bodyOf gives each schema its own output.
const validatedBy = new WeakMap<MessageContext<any>, Map<PayloadSchema<unknown>, unknown>>();

/**
 * Middleware that validates the JSON payload against `schema` and sets `ctx.body` to the
 * parsed value (with zod: defaults applied, unknown keys stripped). Read it typed with
 * {@link bodyOf}.
 *
 * @throws InvalidMessageError (to the pipeline, which dead-letters the message) when the
 *   payload is not JSON or fails the schema; the message names the topic and each reason.
 * @example
 * const telemetrySchema = z.object({ temperature: z.number() });
 * routes.on('devices/{deviceId}/telemetry', storeTelemetry, { middleware: [validate(telemetrySchema)] });
 */
export function validate<T>(
  schema: PayloadSchema<T>,
  options: ValidateOptions = {},
): Middleware<MessageContext<any>> {
  const maxIssues = options.maxIssues ?? 5;
  const maxReasonLength = options.maxReasonLength ?? 500;
  return async function validateMiddleware(ctx, next) {
    const result = schema.safeParse(ctx.json);
    if (!result.success) {
      const reason = truncate(describeSchemaFailure(result.error, maxIssues), maxReasonLength);
      throw new InvalidMessageError(
        `payload on ${shownTopic(ctx.topic)} does not match the route's schema: ${reason}`,
        {
          cause: result.error,
        },
      );
    }
    ctx.body = result.data;
    let outputs = validatedBy.get(ctx);
    if (!outputs) {
      outputs = new Map();
      validatedBy.set(ctx, outputs);
    }
    outputs.set(schema, result.data);
    await next();
  };
}

/**
 * The body `validate(schema)` produced for this message, typed by the schema. Pass the
 * same schema object the route's `validate` got. With two `validate` steps on a route (a
 * group's and the route's own), each schema gives back its own output; `ctx.body` is the
 * last one's.
 *
 * @throws InvalidRouteError when no `validate` with this schema ran for the message (the
 *   route is missing `validate(schema)` in its middleware, or has another schema's).
 * @example
 * export async function storeTelemetry(ctx: MessageContext<{ deviceId: string }>) {
 *   const { temperature } = bodyOf(ctx, telemetrySchema); // typed { temperature: number }
 * }
 */
export function bodyOf<T>(ctx: MessageContext<any>, schema: PayloadSchema<T>): T {
  const outputs = validatedBy.get(ctx);
  if (!outputs?.has(schema)) {
    throw new InvalidRouteError(
      `route ${ctx.route}: the handler reads a body validated by a schema that did not run; ` +
        'add validate(schema) with that same schema to the route middleware',
    );
  }
  return outputs.get(schema) as T;
}
