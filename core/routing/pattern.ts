/**
 * Route patterns: the strings a user writes in `app/routes/*.ts`, compiled once into
 * topic levels and the MQTT subscription filter that makes the broker deliver them.
 *
 * A pattern is an MQTT topic filter with two additions: `{name}` is a `+` whose level is
 * captured as `params.name`, and a trailing `{name*}` is a `#` that captures the rest of
 * the topic (one or more levels, joined with `/`). Everything else is matched literally.
 */
import { InvalidRouteError } from '../errors.js';

/** One level of a compiled pattern. `plus` is MQTT's `+`, `hash` is MQTT's `#`. */
export type PatternLevel =
  | { readonly kind: 'literal'; readonly value: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'plus' }
  | { readonly kind: 'rest'; readonly name: string }
  | { readonly kind: 'hash' };

/** A validated pattern, ready for a router. */
export interface CompiledPattern {
  /** The pattern as written, e.g. `devices/{deviceId}/telemetry`. */
  readonly pattern: string;
  readonly levels: readonly PatternLevel[];
  /** Names of `{name}` and `{name*}` parameters, in the order they appear. */
  readonly paramNames: readonly string[];
  /** The MQTT subscription filter, e.g. `devices/+/telemetry`. */
  readonly filter: string;
}

type Levels<P extends string> = P extends `${infer Head}/${infer Tail}` ? Head | Levels<Tail> : P;
type ParamName<L extends string> = L extends `{${infer N}*}` ? N : L extends `{${infer N}}` ? N : never;
/** The params written out in `P`, level by level (a level that is any string names none). */
type NamesOf<P extends string> = P extends `${infer Head}/${infer Tail}`
  ? ParamName<Head> | NamesOf<Tail>
  : ParamName<P>;

/**
 * The params object a pattern yields, worked out from the pattern's literal type.
 *
 * @example
 * type P = ParamsOf<'devices/{deviceId}/logs/{path*}'>; // { deviceId: string; path: string }
 */
export type ParamsOf<P extends string> = string extends P
  ? Readonly<Record<string, string>>
  : // a pattern built at run time (`devices/{deviceId}/${kind}`): a level of it is any string,
    // whose params cannot all be known: those written out, and any other name, as for a string
    string extends Levels<P>
    ? { readonly [K in NamesOf<P>]: string } & Readonly<Record<string, string>>
    : { [K in ParamName<Levels<P>>]: string };

/**
 * The pattern a route inside a group ends up with: the prefix and the route's own
 * pattern joined with `/` (an empty side adds nothing).
 *
 * @example
 * type P = JoinPattern<'devices/{deviceId}', 'status'>; // 'devices/{deviceId}/status'
 */
export type JoinPattern<Prefix extends string, P extends string> = Prefix extends ''
  ? P
  : P extends ''
    ? Prefix
    : `${Prefix}/${P}`;

/**
 * Joins a group prefix and a route pattern the way {@link JoinPattern} does.
 *
 * @example
 * joinPattern('devices/{deviceId}', 'status'); // 'devices/{deviceId}/status'
 */
export function joinPattern<Prefix extends string, P extends string>(
  prefix: Prefix,
  pattern: P,
): JoinPattern<Prefix, P> {
  const joined = prefix === '' ? pattern : pattern === '' ? prefix : `${prefix}/${pattern}`;
  return joined as JoinPattern<Prefix, P>;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Names that mean something on every JavaScript object; refused so params stay plain data. */
const RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);
/** Prefixes a broker reads as "shared subscription"; Topiq adds them itself from `shared`. */
const SHARED_PREFIXES = new Set(['$share', '$queue']);

function fail(pattern: string, problem: string): never {
  throw new InvalidRouteError(`Invalid route pattern ${JSON.stringify(pattern)}: ${problem}`);
}

function parseLevel(pattern: string, level: string, isLast: boolean): PatternLevel {
  if (level === '#') {
    if (!isLast) {
      fail(
        pattern,
        "'#' must be the last level, since it matches every level below it. Move it to the end, or use '+' for one level.",
      );
    }
    return { kind: 'hash' };
  }
  if (level === '+') return { kind: 'plus' };
  if (level.includes('+') || level.includes('#')) {
    fail(
      pattern,
      `the level ${JSON.stringify(level)} mixes text with a wildcard; MQTT needs '+' and '#' to stand alone as a whole level (e.g. "a/+" rather than "a+").`,
    );
  }
  const braced = /^\{([^{}]*)\}$/.exec(level);
  if (braced === null) {
    if (level.includes('{') || level.includes('}')) {
      fail(
        pattern,
        `the level ${JSON.stringify(level)} mixes text with a parameter; a parameter must be a whole level. Split it ("a/{b}") or capture the whole level ("{b}") and parse it in the handler.`,
      );
    }
    return { kind: 'literal', value: level };
  }
  const inner = braced[1]!;
  const isRest = inner.endsWith('*');
  const name = isRest ? inner.slice(0, -1) : inner;
  if (!PARAM_NAME.test(name)) {
    fail(
      pattern,
      `${JSON.stringify(level)} is not a valid parameter; write {name} or {name*} where name is letters, digits and '_', not starting with a digit (e.g. {deviceId}).`,
    );
  }
  if (RESERVED_NAMES.has(name)) {
    fail(
      pattern,
      `the parameter name ${JSON.stringify(name)} is reserved on JavaScript objects; choose another name.`,
    );
  }
  if (isRest && !isLast) {
    fail(
      pattern,
      `{${name}*} captures the rest of the topic, so it must be the last level. Move it to the end, or use {${name}} for one level.`,
    );
  }
  return isRest ? { kind: 'rest', name } : { kind: 'param', name };
}

function filterLevel(level: PatternLevel): string {
  switch (level.kind) {
    case 'literal':
      return level.value;
    case 'param':
    case 'plus':
      return '+';
    case 'rest':
    case 'hash':
      return '#';
  }
}

/**
 * Validates a route pattern and compiles it into levels and a subscription filter.
 * Empty levels are allowed, as in MQTT (`a//b`, `/a`).
 *
 * @throws InvalidRouteError when the pattern is empty, starts with `$share`, puts `#` or
 *   `{name*}` anywhere but last, mixes text and a parameter or wildcard in one level, or
 *   has a malformed, reserved or repeated parameter name.
 * @example
 * const compiled = compilePattern('devices/{deviceId}/telemetry');
 * compiled.filter; // 'devices/+/telemetry'
 * compiled.paramNames; // ['deviceId']
 */
export function compilePattern(pattern: string): CompiledPattern {
  if (typeof pattern !== 'string' || pattern === '') {
    fail(String(pattern), 'a pattern must be a non-empty string, e.g. "devices/{deviceId}/telemetry".');
  }
  if (pattern.includes('\u0000')) fail(pattern, 'MQTT topics may not contain the NUL character.');
  const rawLevels = pattern.split('/');
  if (SHARED_PREFIXES.has(rawLevels[0]!)) {
    fail(
      pattern,
      `do not write the shared-subscription prefix yourself; pass { shared: true } or { shared: 'groupName' } in the route options.`,
    );
  }
  const levels = rawLevels.map((level, index) => parseLevel(pattern, level, index === rawLevels.length - 1));
  const paramNames: string[] = [];
  for (const level of levels) {
    if (level.kind !== 'param' && level.kind !== 'rest') continue;
    if (paramNames.includes(level.name)) {
      fail(
        pattern,
        `the parameter {${level.name}} appears twice (check the group prefix too); give each parameter its own name.`,
      );
    }
    paramNames.push(level.name);
  }
  return { pattern, levels, paramNames, filter: levels.map(filterLevel).join('/') };
}
