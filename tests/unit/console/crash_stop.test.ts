/** `stopOnCrash`: the first error no code handled stops the command; a burst is logged, bounded. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { stopOnCrash } from '../../../core/console/crash_stop.js';
import { capturingLogger } from '../../support/capturing_logger.js';

describe('stopOnCrash', () => {
  it('stops once on the first error, logs the first 10 of a burst, and stops listening when disposed', () => {
    const signals = new EventEmitter();
    const log = capturingLogger('info');
    let stops = 0;
    const crash = stopOnCrash(signals, log.logger, () => {
      stops++;
    });
    expect(crash.crashed).toBe(false);
    signals.emit('unhandledRejection', 'a string, not an Error');
    for (let n = 0; n < 14; n++) signals.emit('uncaughtException', new Error(`burst ${n}`));
    expect(stops).toBe(1);
    expect(crash.crashed).toBe(true);
    const lines = log.lines.filter((line) => String(line.event).startsWith('process.'));
    expect(lines).toHaveLength(10);
    expect(lines[0]).toMatchObject({
      level: 60,
      event: 'process.unhandled_rejection',
      err: { message: 'a string, not an Error' },
    });
    expect(lines[9]).toMatchObject({
      level: 50,
      errors: 10,
      msg: expect.stringMatching(/later ones are not logged/),
    });
    crash.dispose();
    expect(signals.listenerCount('unhandledRejection') + signals.listenerCount('uncaughtException')).toBe(0);
  });
});
