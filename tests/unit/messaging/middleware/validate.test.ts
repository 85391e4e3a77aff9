import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { InvalidMessageError, InvalidRouteError, isTopiqError } from '../../../../core/errors.js';
import { bodyOf, type SchemaOutput, validate } from '../../../../core/messaging/middleware/index.js';
import type { PayloadSchema } from '../../../../core/support/schema.js';
import { makeContext, recordingNext } from './context_fixture.js';

const telemetrySchema = z.object({
  temperature: z.number().min(-100).max(200),
  unit: z.enum(['C', 'F']).default('C'),
  readings: z.array(z.object({ value: z.number() })).optional(),
});

async function rejection(run: () => Promise<unknown>): Promise<Error> {
  try {
    await run();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('validate', () => {
  it('sets ctx.body to the parsed payload and calls next', async () => {
    const ctx = makeContext({ payload: '{"temperature":21.5,"extra":true}' });
    const seen: unknown[] = [];
    await validate(telemetrySchema)(ctx, async () => {
      seen.push(ctx.body);
    });
    expect(seen).toEqual([{ temperature: 21.5, unit: 'C' }]);
    expect(ctx.body).toEqual({ temperature: 21.5, unit: 'C' });
  });

  it('refuses a payload that is not JSON with E_INVALID_MESSAGE and does not call next', async () => {
    const ctx = makeContext({ payload: 'not json' });
    const recorder = recordingNext();
    const error = await rejection(() => validate(telemetrySchema)(ctx, recorder.next) as Promise<void>);
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(isTopiqError(error, 'E_INVALID_MESSAGE')).toBe(true);
    expect(error.message).toContain('devices/d1/telemetry');
    expect(recorder.calls).toBe(0);
    expect(ctx.body).toBeUndefined();
  });

  it('refuses a payload that is not UTF-8 text, which would reach the handler changed (U+FFFD)', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"firmware":"v1'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from('"}'),
    ]);
    const ctx = makeContext({ payload: bytes });
    const recorder = recordingNext();
    const error = await rejection(
      () => validate(z.object({ firmware: z.string() }))(ctx, recorder.next) as Promise<void>,
    );
    expect(isTopiqError(error, 'E_INVALID_MESSAGE')).toBe(true);
    expect(error.message).toMatch(/not UTF-8 text/);
    expect(recorder.calls).toBe(0);
  });

  it('keeps the reason in its message however long the topic, which it cuts', async () => {
    const ctx = makeContext({
      topic: `devices/${'d'.repeat(5000)}/telemetry`,
      payload: '{"temperature":"hot"}',
    });
    const error = await rejection(
      () => validate(telemetrySchema)(ctx, recordingNext().next) as Promise<void>,
    );
    expect(error.message.length).toBeLessThan(1000);
    expect(error.message).toContain('temperature');
  });

  it('names the topic and each failing path with its reason when the schema fails', async () => {
    const ctx = makeContext({
      payload: '{"temperature":"hot","unit":"K","readings":[{"value":1},{"value":"x"}]}',
    });
    const recorder = recordingNext();
    const error = await rejection(() => validate(telemetrySchema)(ctx, recorder.next) as Promise<void>);
    expect(error).toBeInstanceOf(InvalidMessageError);
    expect(error.message).toMatch(/^payload on devices\/d1\/telemetry does not match the route's schema: /);
    expect(error.message).toMatch(/temperature: [^;]*number/);
    expect(error.message).toMatch(/unit: /);
    expect(error.message).toMatch(/readings\[1\]\.value: [^;]*number/);
    expect((error as { cause?: unknown }).cause).toBeInstanceOf(z.ZodError);
    expect(recorder.calls).toBe(0);
    expect(ctx.body).toBeUndefined();
  });

  it('reports a root-level failure as (payload)', async () => {
    const ctx = makeContext({ payload: '[1,2]' });
    const error = await rejection(() => validate(telemetrySchema)(ctx, async () => {}) as Promise<void>);
    expect(error.message).toMatch(/: \(payload\): /);
  });

  it('lists at most maxIssues issues and cuts the reason at maxReasonLength', async () => {
    const many = z.object(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`field${i}`, z.string()])));
    const ctx = makeContext({ payload: '{}' });
    const error = await rejection(
      () => validate(many, { maxIssues: 3 })(ctx, async () => {}) as Promise<void>,
    );
    expect(error.message).toContain('field2: ');
    expect(error.message).not.toContain('field3: ');
    expect(error.message).toContain('and 5 more');

    const short = await rejection(
      () =>
        validate(many, { maxReasonLength: 40 })(
          makeContext({ payload: '{}' }),
          async () => {},
        ) as Promise<void>,
    );
    const reason = short.message.split('schema: ')[1]!;
    expect(reason.length).toBe(40);
    expect(reason.endsWith('…')).toBe(true);
  });

  it('accepts any schema with a zod-style safeParse and reports its error message', async () => {
    const evenNumber: PayloadSchema<number> = {
      safeParse: (value) =>
        typeof value === 'number' && value % 2 === 0
          ? { success: true, data: value }
          : { success: false, error: new Error('expected an even number') },
    };
    const ctx = makeContext({ payload: '4' });
    await validate(evenNumber)(ctx, async () => {});
    expect(bodyOf(ctx, evenNumber)).toBe(4);
    const error = await rejection(
      () => validate(evenNumber)(makeContext({ payload: '3' }), async () => {}) as Promise<void>,
    );
    expect(error.message).toMatch(/: expected an even number$/);
  });
});

describe('bodyOf', () => {
  it('returns the body typed by the schema that validated it', async () => {
    const ctx = makeContext({ payload: '{"temperature":3}' });
    await validate(telemetrySchema)(ctx, async () => {});
    const body = bodyOf(ctx, telemetrySchema);
    expect(body.temperature).toBe(3);
    expectTypeOf(body).toEqualTypeOf<z.infer<typeof telemetrySchema>>();
    expectTypeOf<SchemaOutput<typeof telemetrySchema>>().toEqualTypeOf<z.infer<typeof telemetrySchema>>();
    // @ts-expect-error: the body has no such field
    body.humidity;
  });

  it("gives each of a route's two schemas (a group's envelope, the route's own) its own output", async () => {
    const envelope = z.object({ v: z.literal(1) });
    const ctx = makeContext({ payload: '{"v":1,"temperature":20}' });
    await validate(envelope)(ctx, async () => {
      await validate(telemetrySchema)(ctx, async () => {});
    });

    expect(bodyOf(ctx, envelope)).toEqual({ v: 1 });
    expect(bodyOf(ctx, telemetrySchema)).toEqual({ temperature: 20, unit: 'C' });
    expect(ctx.body).toEqual({ temperature: 20, unit: 'C' }); // the last one's
  });

  it('throws E_INVALID_ROUTE when the route did not validate with that schema', async () => {
    const ctx = makeContext({ payload: '{"temperature":3}' });
    expect(() => bodyOf(ctx, telemetrySchema)).toThrow(InvalidRouteError);
    await validate(z.object({ temperature: z.number() }))(ctx, async () => {});
    expect(() => bodyOf(ctx, telemetrySchema)).toThrow(/add validate\(schema\)/);
  });
});
