/**
 * A server on an external broker (Mosquitto) that is told to stop while it handles a message
 * lets that message finish and be acknowledged first (`STOP_DRAIN_MS`), so the next run of the
 * app does not get it again.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { SendEmailJob } from '../../../app/jobs/index.js';
import { createServer } from '../../../bootstrap/server.js';
import { createRouteTable, RedisUnavailableError } from '../../../core/index.js';
import { embeddedTelemetry } from '../../support/embedded_telemetry.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { mosquittoUrl, publisher, sleep, waitFor } from '../mqtt/mqtt_test_support.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('a server stopping on an external broker', () => {
  it('acknowledges the message it is handling before it closes, so the next run does not get it again', async () => {
    const id = randomBytes(4).toString('hex');
    const clientId = `stop-drain-${id}`;
    const topic = `stop-drain/${id}/reading`;
    cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
    const env = { MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId, LOG_LEVEL: 'silent' };
    const serve = async (handle: () => Promise<void> | void) => {
      const routes = createRouteTable();
      routes.on(topic, handle, { qos: 1 });
      const server = await createServer({ env, routes });
      cleanups.push(() => server.stop());
      await server.start();
      return server;
    };

    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = 0;
    const earlier = await serve(async () => {
      entered++;
      await released; // its jobs being stored, say, when the app is told to stop
    });
    const client = await publisher(mosquittoUrl, 5);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(topic, 'reading', { qos: 1 });
    await waitFor(() => entered === 1);

    const stopping = earlier.stop();
    await sleep(200);
    release();
    await stopping;

    let again = 0;
    await serve(() => {
      again++;
    });
    await sleep(500); // a message left unacknowledged comes at once with the session
    expect(again).toBe(0);
  });

  it('has its workers take no job once told to stop, while it waits for the message it handles', async () => {
    const id = randomBytes(4).toString('hex');
    const clientId = `stop-workers-${id}`;
    const topic = `stop-workers/${id}/reading`;
    cleanups.push(() => discardSession(mosquittoUrl, clientId, 5));
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = 0;
    const routes = createRouteTable();
    routes.on(
      topic,
      async () => {
        entered++;
        await released;
      },
      { qos: 1 },
    );
    const env = { MQTT_URL: mosquittoUrl, MQTT_CLIENT_ID: clientId, LOG_LEVEL: 'silent' };
    const server = await createServer({ env, routes });
    cleanups.push(() => server.stop());
    await server.start({ workers: { queues: 'emails' } });
    const client = await publisher(mosquittoUrl, 5);
    cleanups.push(() => client.endAsync());
    await client.publishAsync(topic, 'reading', { qos: 1 });
    await waitFor(() => entered === 1);

    const stopping = server.stop();
    // a job dispatched while intake drains: the workers, told to stop, leave it queued
    const jobId = await server.app.dispatcher.dispatch(SendEmailJob, {
      to: 'ops@example.com',
      subject: 'late',
      body: '',
    });
    await sleep(300);
    release();
    await stopping;
    expect((await server.app.driver.getJob('emails', jobId))?.status).toBe('queued');
  });
});

describe('a server stopping with the embedded broker', () => {
  /**
   * A server on its embedded broker whose telemetry route runs `handle`, and a device of the
   * development accounts that has published one QoS 1 reading to it (`sent.acknowledged` once
   * its PUBACK came).
   */
  async function serveAndPublish(handle: () => void | Promise<void>) {
    const { server, log, device, deviceId, cleanup } = await embeddedTelemetry(handle, 'info');
    cleanups.push(cleanup);
    const sent = { acknowledged: false };
    const publishing = device
      .publishAsync(`devices/${deviceId}/telemetry`, '{"temperature":21}', { qos: 1 })
      .then(
        () => {
          sent.acknowledged = true;
        },
        () => {},
      );
    return { server, log, sent, publishing };
  }

  it('acknowledges the message it is handling before it closes, and logs its stop, not an outage', async () => {
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let entered = 0;
    const { server, log, sent, publishing } = await serveAndPublish(async () => {
      entered++;
      await released; // its jobs being stored, say, when the app is told to stop
    });
    await waitFor(() => entered === 1);

    const stopping = server.stop();
    await sleep(200);
    release();
    await stopping;
    await Promise.race([publishing, sleep(500)]);
    // acknowledged: the device does not send it again to the next run (a second job)
    expect(sent.acknowledged).toBe(true);
    expect(log.lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
  });

  it('leaves unacknowledged a message it could not store by the end of the drain, logged as the stop, not an outage', async () => {
    let entered = 0;
    const { server, log, sent } = await serveAndPublish(() => {
      entered++;
      // Redis away: the pipeline tries again until it is closed (at the end of the drain)
      throw new RedisUnavailableError('Redis at 127.0.0.1:6379 did not answer');
    });
    await waitFor(() => entered > 0);
    await server.stop(); // waits STOP_DRAIN_MS for it
    expect(sent.acknowledged).toBe(false); // the device sends it again to the next run
    expect(log.lines.filter((line) => (line.level as number) >= 50)).toEqual([]);
    expect(log.lines.some((line) => String(line.msg).includes('the app stopped before it was stored'))).toBe(
      true,
    );
  });
});
