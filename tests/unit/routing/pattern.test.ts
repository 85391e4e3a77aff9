import { describe, expect, it } from 'vitest';
import { InvalidRouteError } from '../../../core/errors.js';
import { compilePattern, joinPattern } from '../../../core/routing/index.js';

function errorOf(pattern: string): InvalidRouteError {
  try {
    compilePattern(pattern);
  } catch (error) {
    if (error instanceof InvalidRouteError) return error;
    throw error;
  }
  throw new Error(`expected ${pattern} to be rejected`);
}

describe('compilePattern', () => {
  it('turns params into + and {name*} into # in the subscription filter', () => {
    expect(compilePattern('devices/{deviceId}/telemetry').filter).toBe('devices/+/telemetry');
    expect(compilePattern('files/{site}/{path*}').filter).toBe('files/+/#');
    expect(compilePattern('a/+/b/#').filter).toBe('a/+/b/#');
  });

  it('lists param names in order and describes each level', () => {
    const compiled = compilePattern('t/{tenant}/+/{rest*}');
    expect(compiled.paramNames).toEqual(['tenant', 'rest']);
    expect(compiled.levels).toEqual([
      { kind: 'literal', value: 't' },
      { kind: 'param', name: 'tenant' },
      { kind: 'plus' },
      { kind: 'rest', name: 'rest' },
    ]);
  });

  it('allows empty levels and $-topics, as MQTT does', () => {
    expect(compilePattern('a//b').filter).toBe('a//b');
    expect(compilePattern('/a/').levels).toHaveLength(3);
    expect(compilePattern('$SYS/broker/#').filter).toBe('$SYS/broker/#');
  });

  it('keeps regex metacharacters and * inside a literal level as plain text', () => {
    expect(compilePattern('a.b/x*y/(z)').levels).toEqual([
      { kind: 'literal', value: 'a.b' },
      { kind: 'literal', value: 'x*y' },
      { kind: 'literal', value: '(z)' },
    ]);
  });

  it('rejects an empty pattern', () => {
    expect(errorOf('').message).toMatch(/non-empty/);
  });

  it('rejects # anywhere but the last level and says to move it', () => {
    const error = errorOf('a/#/b');
    expect(error.code).toBe('E_INVALID_ROUTE');
    expect(error.message).toMatch(/"a\/#\/b".*'#' must be the last level.*Move it to the end/);
  });

  it('rejects {name*} anywhere but the last level', () => {
    expect(errorOf('a/{rest*}/b').message).toMatch(/\{rest\*\} .* must be the last level.*use \{rest\}/);
  });

  it('rejects a wildcard sharing a level with text', () => {
    expect(errorOf('a/b+').message).toMatch(/stand alone/);
    expect(errorOf('a/#b').message).toMatch(/stand alone/);
  });

  it('rejects a param sharing a level with text', () => {
    for (const pattern of ['a{b}', 'x/{a}b', 'x/{a}{b}', 'x/{a', 'x/a}']) {
      expect(errorOf(pattern).message).toMatch(/mixes text with a parameter.*Split it/);
    }
  });

  it('rejects malformed param names and says what a name may contain', () => {
    for (const pattern of ['a/{}', 'a/{1st}', 'a/{device-id}', 'a/{a b}', 'a/{*}', 'a/{x**}']) {
      expect(errorOf(pattern).message).toMatch(/not a valid parameter.*letters, digits and '_'/);
    }
  });

  it('rejects param names that are reserved on JavaScript objects', () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      expect(errorOf(`a/{${name}}`).message).toMatch(/reserved/);
    }
  });

  it('rejects a param name used twice', () => {
    expect(errorOf('a/{id}/b/{id*}').message).toMatch(/\{id\} appears twice/);
  });

  it('rejects a pattern that writes the $share prefix itself and points to the shared option', () => {
    expect(errorOf('$share/group/devices/+').message).toMatch(/\{ shared: true \}/);
    expect(errorOf('$queue/devices/+').message).toMatch(/shared/);
  });

  it('rejects the NUL character', () => {
    expect(errorOf('a/\u0000').message).toMatch(/NUL/);
  });
});

describe('joinPattern', () => {
  it('joins a prefix and a pattern with / and treats an empty side as nothing', () => {
    expect(joinPattern('devices/{id}', 'status')).toBe('devices/{id}/status');
    expect(joinPattern('', 'status')).toBe('status');
    expect(joinPattern('devices', '')).toBe('devices');
  });
});
