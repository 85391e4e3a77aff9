import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { InvalidMessageError, InvalidOptionError } from '../../../../core/errors.js';
import { createLogger } from '../../../../core/logger.js';
import { requestLogger } from '../../../../core/messaging/middleware/index.js';
import { makeContext } from './context_fixture.js';
import { createRouteTable } from '../../../../core/index.js';
import { fakeMessage } from '../../../../core/testing/index.js';
import { capturingLogger } from '../../../support/capturing_logger.js';
import { memoryPipeline } from '../../../support/memory_pipeline.js';
import { until } from '../../../support/until.js';

function capture(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  return { lines, log: createLogger({ level, destination }) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('requestLogger', () => {
  it('logs one info line per handled message, after the handler ran', async () => {
    const { lines, log } = capture();
    const ctx = makeContext({ log, payload: '{"temperature":21}', deviceId: 'd1', clientId: 'c1', qos: 1 });
    let linesWhileHandling = -1;
    await requestLogger()(ctx, async () => {
      linesWhileHandling = lines.length;
      await sleep(20);
    });
    expect(linesWhileHandling).toBe(0);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      event: 'message.processed',
      topic: 'devices/d1/telemetry',
      route: 'devices/{deviceId}/telemetry',
      qos: 1,
      bytes: 18,
      deviceId: 'd1',
      clientId: 'c1',
      outcome: 'handled',
    });
    expect(lines[0]!.durationMs).toBeGreaterThanOrEqual(15);
    expect(lines[0]).not.toHaveProperty('code');
  });

  it('logs the error outcome with its code and rethrows the same error', async () => {
    const { lines, log } = capture();
    const ctx = makeContext({ log });
    const thrown = new InvalidMessageError('bad payload');
    await expect(
      requestLogger()(ctx, async () => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, outcome: 'error', code: 'E_INVALID_MESSAGE' });
  });

  it('names a plain error by its name', async () => {
    const { lines, log } = capture();
    await expect(
      requestLogger()(makeContext({ log }), () => Promise.reject(new TypeError('boom'))),
    ).rejects.toThrow('boom');
    expect(lines[0]).toMatchObject({ outcome: 'error', code: 'TypeError' });
  });

  it('logs at the configured levels', async () => {
    const { lines, log } = capture('info');
    await requestLogger({ level: 'debug' })(makeContext({ log }), async () => {});
    expect(lines).toHaveLength(0);

    const debug = capture('debug');
    await requestLogger({ level: 'debug' })(makeContext({ log: debug.log }), async () => {});
    expect(debug.lines[0]).toMatchObject({ level: 20, outcome: 'handled' });

    const warn = capture('debug');
    await expect(
      requestLogger({ level: 'debug', errorLevel: 'warn' })(makeContext({ log: warn.log }), () =>
        Promise.reject(new Error('x')),
      ),
    ).rejects.toThrow();
    expect(warn.lines[0]).toMatchObject({ level: 40, outcome: 'error' });
  });

  it("refuses a level or errorLevel that is not one of pino's when it is built, naming the levels", () => {
    expect(() => requestLogger({ level: 'verbose' as never })).toThrow(InvalidOptionError);
    expect(() => requestLogger({ errorLevel: 'nope' as never })).toThrow(
      /errorLevel "nope" must be one of pino's levels: trace, debug, info, warn, error, fatal/,
    );
    expect(() => requestLogger({ level: 'trace', errorLevel: 'fatal' })).not.toThrow();
  });

  it('logs a message given up for its deadline as failed with E_HANDLER_TIMEOUT, once its handler returns', async () => {
    const routes = createRouteTable();
    routes.on('devices/{deviceId}/slow', async () => {
      await new Promise((resolve) => setTimeout(resolve, 300)); // a slow call that ignores ctx.signal
    });
    const log = capturingLogger('info');
    const { pipeline, deadLetters } = memoryPipeline(routes, {
      log: log.logger,
      handlerTimeoutMs: 50,
      middleware: [requestLogger()],
    });
    await pipeline.handle(fakeMessage('devices/d1/slow', {}));
    expect((await deadLetters.list(10)).map((letter) => letter.code)).toEqual(['E_HANDLER_TIMEOUT']);
    await until('the line', () => log.events('message.processed').length > 0);
    expect(log.events('message.processed')).toEqual([
      expect.objectContaining({ outcome: 'error', code: 'E_HANDLER_TIMEOUT' }),
    ]);
  });
});
