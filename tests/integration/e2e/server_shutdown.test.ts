/**
 * End to end: stopping a server whose in-process workers are busy. `Worker.stop()`
 * interrupts the worker's blocking wait for work; a stop that lands while the worker is
 * reserving finds no wait to interrupt, and the worker used to start its idle wait
 * (3 s by default) afterwards anyway, so `Server.stop()` took seconds.
 */
import { describe, expect, it } from 'vitest';
import type { ReserveOptions } from '../../../core/queue/driver.js';
import { publishJson, until, useE2eFixture } from '../../support/e2e_fixture.js';

const setup = useE2eFixture();

describe('Server.stop with in-process workers', () => {
  it('returns promptly when it lands while a worker is reserving', async () => {
    const { embeddedServer, device, jobs } = setup();
    const server = await embeddedServer({ workers: { queues: 'telemetry', concurrency: 1 } });
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });

    // Stop from inside the first reserve that finds nothing once the job below has run:
    // the worker is then between its reserve and its wait, the window this test pins.
    const { driver } = server.app;
    const reserve = driver.reserve.bind(driver);
    let stopped: Promise<number> | undefined;
    let armed = false;
    driver.reserve = async (queue: string, options: ReserveOptions) => {
      const result = await reserve(queue, options);
      if (armed && result.jobs.length === 0 && !stopped) {
        const stopping = Date.now();
        stopped = server.stop().then(() => Date.now() - stopping);
      }
      if (result.jobs.length > 0) armed = true;
      return result;
    };

    await publishJson(d1, 'devices/d1/telemetry', { temperature: 20 });
    await until('the server is stopping', () => stopped !== undefined);
    expect(await stopped).toBeLessThan(1000);
    expect((await jobs('telemetry'))[0]?.status).toBe('completed');
  });
});
