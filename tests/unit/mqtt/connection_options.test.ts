import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { redactUrl, resolveConnectionOptions } from '../../../core/mqtt/connection_options.js';

const base = { url: 'mqtt://127.0.0.1:1883', clientId: 'ingest-1', onMessage: () => {} };

describe('resolveConnectionOptions', () => {
  it('defaults to MQTT 5, a day of session expiry and 1000 messages in flight', () => {
    const options = resolveConnectionOptions(base);
    expect(options).toMatchObject({
      protocolVersion: 5,
      keepaliveSeconds: 30,
      connectTimeoutMs: 10_000,
      reconnect: { baseMs: 500, maxMs: 30_000 },
      maxInFlight: 1000,
      sessionExpirySeconds: 86_400,
    });
  });

  it.each([
    [{ url: 'http://broker' }, 'url'],
    [{ clientId: '' }, 'clientId'],
    [{ maxInFlight: 0 }, 'maxInFlight'],
    [{ maxInFlight: 1.5 }, 'maxInFlight'],
    [{ reconnect: { baseMs: 1000, maxMs: 10 } }, 'reconnect.maxMs'],
    [{ protocolVersion: 3 as never }, 'protocolVersion'],
  ])('rejects %o with InvalidOptionError naming %s', (override, name) => {
    let caught: unknown;
    try {
      resolveConnectionOptions({ ...base, ...override });
    } catch (error) {
      caught = error;
    }
    expect(isTopiqError(caught, 'E_INVALID_OPTION')).toBe(true);
    expect((caught as Error).message).toContain(name);
  });
});

describe('redactUrl', () => {
  it('hides the password of a URL with credentials and leaves others alone', () => {
    expect(redactUrl('mqtts://app:s3cret@broker:8883')).toBe('mqtts://app:***@broker:8883');
    expect(redactUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
  });
});
