/**
 * End to end: an app whose embedded broker requires device credentials (`MQTT_DEVICES`,
 * `MQTT_AUTH=credentials`) refuses wrong passwords and devices speaking for others.
 */
import { describe, expect, it } from 'vitest';
import { closed, publishJson, useE2eFixture } from '../../support/e2e_fixture.js';
import { sleep } from '../../support/queue_names.js';

const setup = useE2eFixture();

const credentials = { MQTT_DEVICES: 'd1:pw-d1,d2:pw-d2', MQTT_AUTH: 'credentials' };

describe('an app whose embedded broker requires device credentials', () => {
  it('refuses a device with a wrong password at connect', async () => {
    const { embeddedServer, device } = setup();
    const server = await embeddedServer({ env: credentials });
    await expect(device(server.gateway.url, { username: 'd1', password: 'wrong' })).rejects.toMatchObject({
      code: 4, // CONNACK "bad user name or password"
    });
    await expect(
      device(server.gateway.url, { username: 'intruder', password: 'pw-d1' }),
    ).rejects.toMatchObject({
      code: 4,
    });
    await expect(device(server.gateway.url)).rejects.toMatchObject({ code: 5 }); // no credentials
    expect(server.pipeline.stats.received).toBe(0);
  });

  it("disconnects a device publishing under another device's id and stores no job", async () => {
    const { embeddedServer, device, jobs } = setup();
    const server = await embeddedServer({ env: credentials });
    const d2 = await device(server.gateway.url, { username: 'd2', password: 'pw-d2' });
    const disconnected = closed(d2);
    let acknowledged = false;
    d2.publish('devices/d1/telemetry', JSON.stringify({ temperature: 99 }), { qos: 1 }, (error) => {
      if (!error) acknowledged = true;
    });
    await disconnected;
    await sleep(100);
    expect(acknowledged).toBe(false);
    expect(server.pipeline.stats.received).toBe(0); // refused by the ACL before any route ran
    expect(await jobs('telemetry')).toEqual([]);

    // The rightful device still gets through, so the empty queue above is the ACL's doing.
    const d1 = await device(server.gateway.url, { username: 'd1', password: 'pw-d1' });
    await publishJson(d1, 'devices/d1/telemetry', { temperature: 21 });
    expect((await jobs('telemetry')).map((job) => job.payload)).toEqual([
      { deviceId: 'd1', temperature: 21 },
    ]);
  });

  it("with MQTT_BROKER_CLIENT_IDS=device-id, takes only the device id as a device's client id", async () => {
    const { embeddedServer, device } = setup();
    const server = await embeddedServer({ env: { ...credentials, MQTT_BROKER_CLIENT_IDS: 'device-id' } });
    const login = { username: 'd1', password: 'pw-d1' };
    await expect(device(server.gateway.url, { ...login, clientId: 'd2' })).rejects.toMatchObject({
      code: 2, // CONNACK "identifier rejected"
    });
    const d1 = await device(server.gateway.url, { ...login, clientId: 'd1' });
    expect(d1.connected).toBe(true);
  });
});
