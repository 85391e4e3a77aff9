/**
 * End to end across a crash: the app runs as a child process on Mosquitto with its
 * fixed client id and persistent session. Killed after a message reached its handler
 * but before the handler stored a job, it never acknowledged the message, so Mosquitto
 * hands it to the next process with that client id: the acknowledgement follows the
 * store, and a crash between receipt and enqueue loses nothing.
 */
import { describe, expect, it, onTestFailed } from 'vitest';
import {
  type AppProcessSettings,
  type ReceivedEntry,
  receivedKey,
} from '../../support/e2e_app_process_settings.js';
import { spawnAppProcess } from '../../support/e2e_app_processes.js';
import { discardSession } from '../../support/mqtt_sessions.js';
import { MOSQUITTO_URL, publishJson, REDIS_URL, until, useE2eFixture } from '../../support/e2e_fixture.js';
import type { WorkerProcess } from '../../support/worker_processes.js';

const setup = useE2eFixture();

describe('an app killed between receiving a message and storing its job', () => {
  it('gets the message again from Mosquitto after a restart under the same client id, and the job runs once', async () => {
    const { device, jobs, redis, prefix, id, defer } = setup();
    const clientId = `e2e-app-${id}`;
    // Cleanup runs in reverse: kill the processes, then discard the session they left.
    defer(() => discardSession(MOSQUITTO_URL, clientId, 5));
    const processes: WorkerProcess[] = [];
    defer(() => Promise.all(processes.map((child) => child.crash())));
    onTestFailed(() => {
      for (const child of processes) console.error(child.describe());
    });
    const settings: AppProcessSettings = {
      redisUrl: REDIS_URL,
      prefix,
      mqttUrl: MOSQUITTO_URL,
      clientId,
      sharedGroup: `e2e-${id}`,
      topicPrefix: `e2e-${id}`,
      mode: 'block',
    };
    const start = (mode: AppProcessSettings['mode']) => {
      const child = spawnAppProcess({ ...settings, mode });
      processes.push(child);
      return child.ready();
    };
    const received = async (): Promise<ReceivedEntry[]> =>
      (await redis.lrange(receivedKey(prefix), 0, -1)).map((entry) => JSON.parse(entry) as ReceivedEntry);

    const first = await start('block');
    const sensor = await device(MOSQUITTO_URL, { protocolVersion: 5 });
    await publishJson(sensor, `e2e-${id}/devices/d1/telemetry`, { temperature: 21.5 });
    await until('the handler has the message', async () => (await received()).length === 1);
    await first.crash(); // SIGKILL: no cleanup, no acknowledgement
    expect(await jobs('telemetry')).toEqual([]);

    const second = await start('dispatch');
    await until('the message is delivered again', async () => (await received()).length === 2);
    expect(await received()).toEqual([
      { pid: first.pid, dup: false, payload: '{"temperature":21.5}' },
      { pid: second.pid, dup: true, payload: '{"temperature":21.5}' },
    ]);
    await until('the job has run', async () => (await jobs('telemetry'))[0]?.status === 'completed');
    expect(await jobs('telemetry')).toMatchObject([
      {
        name: 'ProcessSensorDataJob',
        status: 'completed',
        attempts: 1,
        payload: { deviceId: 'd1', temperature: 21.5 },
      },
    ]);
  });
});
