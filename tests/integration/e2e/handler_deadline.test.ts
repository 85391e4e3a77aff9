/**
 * One route handler that never settles (an HTTP call without a timeout, a lock never released)
 * on an external broker: acknowledgements go out in arrival order, so every later message's
 * PUBACK waited behind it, and once MQTT_MAX_IN_FLIGHT messages waited the app stopped reading
 * the socket, for good and without a word. Past MQTT_HANDLER_TIMEOUT_MS the stuck message is
 * dead-lettered (E_HANDLER_TIMEOUT) and acknowledged, and the rest flow again.
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import { useE2eFixture } from '../../support/e2e_fixture.js';
import { capturingLogger } from '../../support/capturing_logger.js';
import { publisher, startAedes, waitFor } from '../mqtt/mqtt_test_support.js';

const setup = useE2eFixture();

describe('a route handler that never settles, on an external broker', () => {
  it('is given up at MQTT_HANDLER_TIMEOUT_MS, dead-lettered, and the messages behind it are handled', async () => {
    const fixture = setup();
    const broker = await startAedes(await freePort());
    fixture.defer(() => broker.stop());
    const routes = createRouteTable();
    const handled: string[] = [];
    routes.on('deadline/{id}/hang', async () => {
      await new Promise(() => {}); // e.g. fetch() to a server that never answers
    });
    routes.on('deadline/{id}/ok', (ctx) => {
      handled.push(ctx.params.id);
    });
    const log = capturingLogger('warn');
    const server = await fixture.externalServer({
      url: broker.url,
      clientId: `deadline-${fixture.id}`,
      protocolVersion: 4,
      sharedSubscriptions: false,
      routes,
      log: log.logger,
      env: { MQTT_MAX_IN_FLIGHT: '5', MQTT_HANDLER_TIMEOUT_MS: '300' },
    });
    const pub = await publisher(broker.url, 4);
    fixture.defer(() => pub.endAsync(true));

    await pub.publishAsync('deadline/x/hang', '{}', { qos: 1 });
    for (let i = 0; i < 20; i++) await pub.publishAsync(`deadline/m${i}/ok`, '{}', { qos: 1 });

    await waitFor(
      () => handled.length === 20,
      10_000,
      `all 20 ok messages handled (handled ${handled.length})`,
    );
    expect(handled).toHaveLength(20);
    const letters = await server.app.deadLetters.list(10);
    expect(letters).toEqual([
      expect.objectContaining({ topic: 'deadline/x/hang', code: 'E_HANDLER_TIMEOUT' }),
    ]);
    expect(log.events('message.dead_lettered')).toEqual([
      expect.objectContaining({ topic: 'deadline/x/hang', code: 'E_HANDLER_TIMEOUT' }),
    ]);
  }, 20_000);
});
