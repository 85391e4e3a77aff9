/**
 * What a long-running command (`serve`, `queue:work`) does with an error no code handled: a
 * promise nobody awaited that rejects, or a throw in a timer of a route or job. Node would end
 * the process at once with a bare stack on stderr, its workers' running jobs left to lapse and
 * the messages being handled cut off. Instead it is logged as one fatal line and the command
 * stops gracefully, then exits 1, for its supervisor to restart it. Such errors come in bursts
 * (a route's unawaited dispatch of every message while Redis is away; under
 * `--unhandled-rejections=strict` one rejection is reported twice), so later ones are logged
 * (the first 10) while the stop goes on; a second signal ends the process at once, as ever.
 */
import type { Logger } from '../logger.js';
import { thrownError } from '../queue/record_failure.js';
import type { CrashEvent, SignalSource } from './command.js';

/** What {@link stopOnCrash} returns: whether an error came, and how to stop listening. */
export interface CrashWatch {
  readonly crashed: boolean;
  dispose(): void;
}

/** How many errors no code handled are logged; the last of them says later ones are not. */
const LOGGED_CRASHES = 10;

/**
 * Listens on `signals` for errors no code handled while a command runs: the first is logged
 * (`process.unhandled_rejection` or `process.uncaught_exception`, at fatal) and calls `stop`;
 * later ones are logged too, up to {@link LOGGED_CRASHES}.
 *
 * @example
 * const crash = stopOnCrash(signals, app.log, () => worker.stop());
 * await worker.run();
 * crash.dispose();
 * return crash.crashed ? 1 : 0;
 */
export function stopOnCrash(signals: SignalSource, log: Logger, stop: () => void): CrashWatch {
  let count = 0;
  const listener = (event: string) => (error: unknown) => {
    count++;
    if (count > LOGGED_CRASHES) return;
    const err = thrownError(error);
    if (count === 1) {
      log.fatal({ event, err }, 'an error no code handled: stopping gracefully, then exiting 1');
      stop();
      return;
    }
    log.error(
      { event, err, errors: count },
      count === LOGGED_CRASHES
        ? 'another error no code handled while stopping; later ones are not logged'
        : 'another error no code handled while stopping',
    );
  };
  const listeners: [CrashEvent, (error: unknown) => void][] = [
    ['unhandledRejection', listener('process.unhandled_rejection')],
    ['uncaughtException', listener('process.uncaught_exception')],
  ];
  for (const [event, on] of listeners) signals.on(event, on);
  return {
    get crashed() {
      return count > 0;
    },
    dispose() {
      for (const [event, on] of listeners) signals.off(event, on);
    },
  };
}
