/**
 * Every config section of the app, read at once from the environment after `.env`: the bad
 * values of all of them are reported in one `E_INVALID_CONFIG` (`readSections`), so a command
 * that needs more than one section never reports them one per try.
 */
import './env_file.js';
import appConfig from '../config/app.js';
import mqttConfig from '../config/mqtt.js';
import queueConfig from '../config/queue.js';
import { readSections } from '../core/config/define_config.js';
import { namingEnvFile } from './env_file.js';

/**
 * The `app`, `queue` and `mqtt` settings of `env` (default: the process environment, which
 * `.env` filled when this module loaded).
 *
 * @example
 * const { mqtt } = readAppConfig(); // throws E_INVALID_CONFIG naming every bad value
 */
export function readAppConfig(env: Record<string, string | undefined> = process.env) {
  const [app, queue, mqtt] = namingEnvFile(env, () =>
    readSections(env, [appConfig, queueConfig, mqttConfig]),
  );
  return { app, queue, mqtt };
}
