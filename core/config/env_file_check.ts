/**
 * Finds credentials that dotenv cut short in a `.env` file. dotenv ends an unquoted value at
 * its first `#` (the rest is read as a comment, with or without a space before it), so
 * `MQTT_DEVICES=sensor-1:p@ss#w0rd,sensor-2:x` loses half a password and a whole device
 * without a word, and the broker then refuses logins that look right. Quoting the value keeps
 * the `#`. Only the credential variables are checked, where a `#` is likely and its loss hard
 * to trace; a `#` after a space is taken as the comment it usually is.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'dotenv';
import type { Logger } from '../logger.js';

/** The variables whose values may hold a `#`: passwords, and the URL that can carry one. */
export const CREDENTIAL_VARIABLES: readonly string[] = [
  'MQTT_DEVICES',
  'MQTT_SERVICE_ACCOUNTS',
  'MQTT_PASSWORD',
  'REDIS_URL',
];

/** `NAME=value`, or `NAME: value`, which dotenv reads too. */
const ASSIGNMENT = /^\s*(?:export\s+)?([\w.-]+)(?:\s*=|:(?=\s))(.*)$/;

/**
 * A value dotenv takes as quoted: a quote, closed by the first of its kind not escaped, then at
 * most blanks and a comment. Another value that starts with a quote (`'it's#secret'`, or one
 * never closed) is read as unquoted, and cut at its `#`, its quote kept.
 */
const QUOTED = /^\s*(?:'(?:\\'|[^'])*'|"(?:\\"|[^"])*"|`(?:\\`|[^`])*`)\s*(?:#.*)?$/;

/**
 * The variables of `names` that `source` (the text of a .env file) assigns an unquoted value
 * with a `#` that dotenv reads as the start of a comment: one right after `=` or after another
 * character of the value. `parsed`: what dotenv reads of `source`, when the caller has it.
 *
 * @example
 * credentialsCutAtHash('MQTT_PASSWORD=p@ss#w0rd\n'); // ['MQTT_PASSWORD']
 * credentialsCutAtHash("MQTT_PASSWORD='p@ss#w0rd'\n"); // []
 */
export function credentialsCutAtHash(
  source: string,
  names = CREDENTIAL_VARIABLES,
  parsed: Record<string, string> = parse(source),
): string[] {
  const cut = new Set<string>();
  for (const line of source.split(/\r\n?|\n/)) {
    const [, name, value = ''] = ASSIGNMENT.exec(line) ?? [];
    if (name === undefined || !names.includes(name) || QUOTED.test(value)) continue;
    // a value dotenv kept whole though it spans lines (double quotes): its # is in it
    if (parsed[name]?.includes('#')) continue;
    const hash = value.indexOf('#');
    if (hash === 0 || (hash > 0 && !/\s/.test(value.charAt(hash - 1)))) cut.add(name);
  }
  return [...cut];
}

/** What to do about a credential dotenv cut at a `#`. */
export const CUT_VALUE_ADVICE =
  "quote the value, e.g. MQTT_PASSWORD='p@ss#w0rd' (in REDIS_URL, write a '#' of the password as %23)";

/**
 * The credential variables whose value in effect in `env` is one dotenv cut at a `#` in the
 * .env file at `path` (dotenv does not override a variable the environment already set). A
 * missing or unreadable file cuts nothing: dotenv passes over it the same way.
 */
export function cutCredentials(
  path: string,
  env: Record<string, string | undefined> = process.env,
): string[] {
  let source: string;
  try {
    source = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  const parsed = parse(source);
  return credentialsCutAtHash(source, CREDENTIAL_VARIABLES, parsed).filter(
    (name) => env[name] === parsed[name],
  );
}

/**
 * Logs a warning (`config.env_value_cut`) naming each credential variable whose value in effect
 * was cut at a `#` in the .env file at `path` ({@link cutCredentials}).
 */
export function warnOfCutCredentials(
  path: string,
  log: Logger,
  env: Record<string, string | undefined> = process.env,
): void {
  const variables = cutCredentials(path, env);
  if (variables.length === 0) return;
  log.warn(
    { event: 'config.env_value_cut', file: path, variables },
    `${variables.join(', ')} in ${path} ${variables.length === 1 ? 'has' : 'have'} an unquoted value ` +
      `with a '#', where dotenv ends the value (the rest is read as a comment); ${CUT_VALUE_ADVICE}`,
  );
}
