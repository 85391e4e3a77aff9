/**
 * End to end through the embedded broker: a real device client publishes, the app's
 * routes run inside the broker's pre-acknowledgement hook, jobs land in Redis, and
 * in-process workers run them.
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable, type MessageContext } from '../../../core/index.js';
import { publishJson, until, useE2eFixture } from '../../support/e2e_fixture.js';

const setup = useE2eFixture();

describe('x', () => {
  it.each([1, 2, 3, 4])('stores %i', async () => {
    const { embeddedServer, device, jobs, driver } = setup();
    const server = await embeddedServer({ workers: true });
    const wrap = (obj: any, name: string, label: string) => {
      const f = obj[name].bind(obj);
      obj[name] = async (...a: any[]) => {
        const t = Date.now();
        try {
          return await f(...a);
        } finally {
          console.log('TIMING', label, Date.now() - t);
        }
      };
    };
    wrap(server, 'stop', 'server.stop');
    wrap(server.gateway, 'stop', 'gateway.stop');
    wrap(server.workers[0], 'shutdown', 'worker.shutdown');
    wrap(server.app, 'close', 'app.close');
    wrap(server.app.driver, 'close', 'driver.close');
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });
    const at = '2025-01-01T12:00:00Z';

    // What the queue held when the PUBACK reached the device (the callback runs on PUBACK).
    const atPuback = await new Promise<{ ackedAt: number; stored: Awaited<ReturnType<typeof jobs>> }>(
      (resolve, reject) => {
        d1.publish('devices/d1/telemetry', JSON.stringify({ temperature: 35.5, at }), { qos: 1 }, (error) => {
          if (error) return reject(error);
          const ackedAt = Date.now();
          jobs('telemetry', 'd1').then((stored) => resolve({ ackedAt, stored }), reject);
        });
      },
    );
    expect(atPuback.stored).toHaveLength(1);
    const [job] = atPuback.stored;
    expect(job).toMatchObject({
      name: 'ProcessSensorDataJob',
      queue: 'telemetry',
      payload: { deviceId: 'd1', temperature: 35.5, at },
    });
    expect(job!.createdAt).toBeLessThanOrEqual(atPuback.ackedAt);
    expect(server.pipeline.stats).toMatchObject({ received: 1, handled: 1, unmatched: 0, deadLettered: 0 });

    await until('the telemetry job completes', async () => {
      return (await driver.getJob('telemetry', job!.id))?.status === 'completed';
    });
    expect(await driver.getJob('telemetry', job!.id)).toMatchObject({
      status: 'completed',
      attempts: 1,
      result: { alerted: true },
    });

    // 35.5 °C is above the 30 °C threshold: the job dispatched an alert, which a worker ran too.
    const alertId = `alert-d1-${at}`;
    await until('the alert job completes', async () => {
      return (await driver.getJob('notifications', alertId))?.status === 'completed';
    });
    expect(await driver.getJob('notifications', alertId)).toMatchObject({
      name: 'SendNotificationJob',
      payload: { deviceId: 'd1', level: 'warning', message: expect.stringContaining('35.5') },
    });
  });
});
