/**
 * A job command whose store Redis took but whose answer was lost is stored again when Redis is
 * back, and that store recognises the job its first try added: the requester gets `{"id"}` as for
 * any command, not `duplicate` (docs/lifecycle.md, the job command topic). Over a private
 * Mosquitto (MQTT 5), the app's Redis behind a proxy that loses the push's answer.
 */
import { describe, expect, it } from 'vitest';
import { capturingLogger } from '../../support/capturing_logger.js';
import { until, useE2eFixture } from '../../support/e2e_fixture.js';
import { startPrivateMosquitto } from '../../support/private_mosquitto.js';
import { sleep } from '../../support/queue_names.js';
import { TcpProxy } from '../../support/tcp_proxy.js';

const setup = useE2eFixture();

describe('a job command whose store answer was lost', () => {
  it('is answered with its id alone once stored again, not as a duplicate, and its job is stored once', async () => {
    const { externalServer, device, driver, id, defer } = setup();
    const broker = await startPrivateMosquitto();
    defer(() => broker.dispose());
    const proxy = await TcpProxy.start(6379);
    defer(() => proxy.close());
    const log = capturingLogger('info');
    await externalServer({
      url: broker.url,
      clientId: `cmd-lost-answer-${id}`,
      protocolVersion: 5,
      log: log.logger,
      env: {
        REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
        MQTT_SHARED_GROUP: `g${id}`,
        JOB_COMMAND_TOPIC: `c${id}/commands/jobs`,
        JOB_COMMAND_REPLY_TOPIC: `c${id}/replies`,
      },
    });
    const service = await device(broker.url, { protocolVersion: 5, clientId: `svc-${id}` });
    const replies: unknown[] = [];
    service.on('message', (_topic, body) => replies.push(JSON.parse(body.toString())));
    await service.subscribeAsync(`c${id}/replies/#`, { qos: 1 });
    const topic = `c${id}/commands/jobs/SendEmailJob`;
    const command = (jobId: string, marker: string) =>
      JSON.stringify({
        payload: { to: 'ops@example.com', subject: marker, body: 'x' },
        options: { jobId, hold: true },
      });
    const asking = { qos: 1 as const, properties: { responseTopic: `c${id}/replies/svc` } };
    await service.publishAsync(topic, command('warm', 'warm'), asking); // connects the app to Redis
    await until('warm reply', () => replies.length === 1);

    proxy.dropRepliesAfter('lost-answer-marker');
    service.publish(topic, command('lost', 'lost-answer-marker'), asking);
    await until('job in Redis', async () => (await driver.getJob('emails', 'lost')) !== undefined);
    await sleep(300);
    // the answer was lost on its way back, and no reply went out before the cut
    expect(proxy.droppingReplies).toBe(true);
    expect(replies).toHaveLength(1);
    await proxy.cut();
    await proxy.restore();
    await until('second reply', () => replies.length === 2, 15_000);
    expect(replies[1]).toEqual({ id: 'lost' });
    expect(log.events('job.command_duplicate')).toHaveLength(0);
    expect(await driver.getJob('emails', 'lost')).toMatchObject({ status: 'pending' });
    const held = await driver.listJobs('emails', 'pending', 0, 10);
    expect(held.map((record) => record.id).sort()).toEqual(['lost', 'warm']);
  });
});
