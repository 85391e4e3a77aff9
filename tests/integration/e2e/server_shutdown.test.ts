/**
 * End to end: stopping a server whose in-process worker is busy. `Worker.stop()`
 * interrupts the worker's blocking wait for work; a stop that lands while the worker is
 * reserving finds no wait to interrupt, and the worker used to start its idle wait
 * (3 s by default) afterwards anyway, so `Server.stop()` took seconds. The ingest test
 * hit this in about three runs of four.
 */
import { describe, expect, it } from 'vitest';
import type { ReserveOptions } from '../../../core/queue/driver.js';
import { publishJson, until, useE2eFixture } from '../../support/e2e_fixture.js';

const setup = useE2eFixture();

describe('Server.stop with in-process workers', () => {
  it('returns promptly when its worker was told to stop while reserving', async () => {
    const { embeddedServer, device, jobs } = setup();
    const server = await embeddedServer({ workers: { queues: 'telemetry', concurrency: 1 } });
    const worker = server.workers[0]!;
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'any' });

    // Once the job below has run, stop the worker from inside its next (empty) reserve:
    // the window between a reserve and the idle wait that this test pins.
    const { driver } = server.app;
    const reserve = driver.reserve.bind(driver);
    let armed = false;
    let stoppedWhileReserving = false;
    driver.reserve = async (queue: string, options: ReserveOptions) => {
      const result = await reserve(queue, options);
      if (armed && result.jobs.length === 0 && !stoppedWhileReserving) {
        stoppedWhileReserving = true;
        worker.stop();
      }
      if (result.jobs.length > 0) armed = true;
      return result;
    };

    await publishJson(d1, 'devices/d1/telemetry', { temperature: 20 });
    await until('the worker was stopped while reserving', () => stoppedWhileReserving);
    const stopping = Date.now();
    await server.stop();
    expect(Date.now() - stopping).toBeLessThan(1000);
    expect((await jobs('telemetry'))[0]?.status).toBe('completed');
  });
});
