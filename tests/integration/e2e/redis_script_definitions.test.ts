/**
 * The app's Redis-backed services (queue driver, rate limiter, state store) share one
 * ioredis connection with auto-pipelining, and each runs Lua scripts defined with
 * `defineCommand`. A script defined while a pipeline of that connection is pending is
 * missing from the pipeline: the call rejects ("pipeline[functionName] is not a
 * function") and the pipeline's exec then throws an uncaught TypeError ("results[i] is
 * not iterable", ioredis#1931), which ends the process. The e2e ingest test hit this when
 * a worker's first reserve met a device's first dispatch in one tick; these tests pin
 * each service's first script call while another command is in flight.
 */
import { describe, expect, it } from 'vitest';
import { createApplication } from '../../../bootstrap/app.js';
import type { Application } from '../../../core/index.js';
import { REDIS_URL, useE2eFixture } from '../../support/e2e_fixture.js';

const setup = useE2eFixture();

async function connectedApp(): Promise<{ app: Application; prefix: string }> {
  const { prefix, defer } = setup();
  const app = createApplication({ env: { REDIS_URL, QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' } });
  defer(() => app.close());
  await app.redis!.ping(); // connected, and no pipeline pending
  return { app, prefix };
}

describe("the app's Redis services on one auto-pipelined connection", () => {
  it("runs the queue driver's first script while another command is in flight", async () => {
    const { app, prefix } = await connectedApp();
    const [, reserved] = await Promise.all([
      app.redis!.get(`${prefix}:unrelated`),
      app.driver.reserve('telemetry', { count: 1, leaseMs: 1000, worker: 'w', defaultMaxTries: 1 }),
    ]);
    expect(reserved.jobs).toEqual([]);
  });

  it("runs the rate limiter's first hit while another command is in flight", async () => {
    const { app, prefix } = await connectedApp();
    const [, hit] = await Promise.all([
      app.redis!.get(`${prefix}:unrelated`),
      app.rateLimiter.hit('d1', 5, 1000),
    ]);
    expect(hit).toMatchObject({ allowed: true, remaining: 4 });
  });

  it("runs the state store's first merge while another command is in flight", async () => {
    const { app, prefix } = await connectedApp();
    const [, merged] = await Promise.all([
      app.redis!.get(`${prefix}:unrelated`),
      app.state.merge('devices', 'd1', { online: true }),
    ]);
    expect(merged).toEqual({ online: true });
  });
});
