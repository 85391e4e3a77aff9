/**
 * Loads `.env` into `process.env` when first imported, from the project's root (the directory above
 * `bootstrap/`), not from wherever the command was started: `npx topiq queue:work` run from
 * `app/jobs/` reads the same settings as from the root, as AdonisJS and Laravel do.
 * `DOTENV_CONFIG_PATH` names another file. dotenv never overrides a variable already set, so
 * the real environment wins.
 */
import { fileURLToPath } from 'node:url';
import { config } from 'dotenv';
import { CUT_VALUE_ADVICE, cutCredentials } from '../core/config/env_file_check.js';
import { InvalidConfigError } from '../core/errors.js';

/** The `.env` file the application reads: `DOTENV_CONFIG_PATH`, else `<project root>/.env`. */
export function envFilePath(env: Record<string, string | undefined> = process.env): string {
  // empty counts as unset, as for every other variable (compose's `${X:-}` gives one)
  return env.DOTENV_CONFIG_PATH || fileURLToPath(new URL('../.env', import.meta.url));
}

/**
 * Runs `read` (config sections read from `env`); an `E_INVALID_CONFIG` it throws names, where it
 * advises fixing `.env`, the file this module loaded, when `env` is the process environment
 * that file filled: a command run from a subdirectory reads the root's `.env`, not one there.
 */
export function namingEnvFile<T>(env: Record<string, string | undefined>, read: () => T): T {
  if (env === process.env && unreadEnvFile !== undefined) throw unreadEnvFile;
  try {
    return read();
  } catch (error) {
    if (env !== process.env || !(error instanceof InvalidConfigError)) throw error;
    const path = envFilePath();
    // a credential dotenv cut at a '#' makes a value that looks wrong for another reason
    const cut = cutCredentials(path, env).filter((name) => error.message.includes(name));
    const why =
      cut.length === 0
        ? ''
        : ` (${cut.join(', ')} in ${path}: its unquoted value was cut at a '#', where dotenv ends a value; ${CUT_VALUE_ADVICE})`;
    throw new InvalidConfigError(`${error.message.replace(' or .env ', ` or ${path} `)}${why}`, {
      cause: error,
    });
  }
}

// on import: `bootstrap/app.ts` imports this module first, so the app's own modules see the
// file's values even where they read process.env as they load
const loaded = config({ path: envFilePath(), quiet: true });

/**
 * The file `DOTENV_CONFIG_PATH` names, when it could not be read (missing: a typo, a secret not
 * mounted; or not readable): reading the configuration from the process environment then fails,
 * rather than running on the defaults (the memory driver, development auth) without a word. A
 * project without a `.env` of its own is fine.
 */
const unreadEnvFile =
  process.env.DOTENV_CONFIG_PATH && loaded.error !== undefined
    ? new InvalidConfigError(
        `DOTENV_CONFIG_PATH names ${process.env.DOTENV_CONFIG_PATH}, which could not be read (${loaded.error.message}); ` +
          "fix the path, or unset DOTENV_CONFIG_PATH to read the project's .env",
      )
    : undefined;
