/** readSections: every bad config section reported in one error, so one pass fixes them all. */
import { describe, expect, it } from 'vitest';
import appConfig from '../../../config/app.js';
import mqttConfig from '../../../config/mqtt.js';
import queueConfig from '../../../config/queue.js';
import { readSections } from '../../../core/config/define_config.js';
import { InvalidConfigError } from '../../../core/index.js';

describe('readSections', () => {
  it('returns each section read, in the order given', () => {
    const [app, queue] = readSections({ APP_NAME: 'plant-7', QUEUE_LEASE_MS: '60000' }, [
      appConfig,
      queueConfig,
    ]);

    expect(app.name).toBe('plant-7');
    expect(queue.leaseMs).toBe(60_000);
  });

  it('reports the bad values of every section in one E_INVALID_CONFIG', () => {
    const read = () =>
      readSections({ LOG_LEVEL: 'loud', QUEUE_LEASE_MS: 'long', MQTT_BROKER_PORT: 'x' }, [
        appConfig,
        queueConfig,
        mqttConfig,
      ]);

    expect(read).toThrow(InvalidConfigError);
    let message = '';
    try {
      read();
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(
      /^invalid app configuration: LOG_LEVEL: [^;]+; invalid queue configuration: QUEUE_LEASE_MS: [^;]+; invalid mqtt configuration: MQTT_BROKER_PORT: [^;]+\. Fix the environment or \.env \(see \.env\.example\)$/,
    );
    expect(message.match(/Fix the environment/g)).toHaveLength(1);
  });

  it("throws one bad section's own error unchanged", () => {
    let own: unknown;
    try {
      appConfig.read({ LOG_LEVEL: 'loud' });
    } catch (error) {
      own = error;
    }

    expect(own).toBeInstanceOf(InvalidConfigError);
    expect(() => readSections({ LOG_LEVEL: 'loud' }, [appConfig, queueConfig])).toThrow(own as Error);
  });
});

describe('NODE_ENV', () => {
  it('refuses a value that means production but is not exactly it, which the production checks would pass over', () => {
    for (const value of [' production', 'production ', 'Production', 'PRODUCTION']) {
      expect(() => readSections({ NODE_ENV: value }, [appConfig, queueConfig, mqttConfig]), value).toThrow(
        expect.objectContaining({
          code: 'E_INVALID_CONFIG',
          message: expect.stringMatching(/^invalid app configuration: NODE_ENV: write production exactly/),
        }),
      );
    }
    for (const value of ['production', 'development', 'test', '']) {
      expect(
        () => readSections({ NODE_ENV: value, MQTT_DEVICES: 'd1:pw', REDIS_URL: 'redis://h' }, [appConfig]),
        value,
      ).not.toThrow();
    }
  });
});
