/**
 * The MQTT job command route on the in-memory driver: what a command may hold, and what
 * becomes of it when its reply cannot be sent. (Over real MQTT and through a Redis outage:
 * tests/integration/lifecycle/mqtt_job_events.test.ts and tests/integration/e2e/redis_outage.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable, Dispatcher, JobRegistry, MemoryQueueDriver } from '../../../core/index.js';
import { addJobCommandRoute } from '../../../core/messaging/job_command_route.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';
import { EchoJob } from '../../support/test_jobs.js';

const TOPIC = 'topiq/commands/jobs/EchoJob';
const payload = { tag: 'cmd', value: 'v' };

function setup(publish: (topic: string, body: unknown) => Promise<void> = async () => {}) {
  const driver = new MemoryQueueDriver();
  const routes = createRouteTable();
  const dispatcher = new Dispatcher(driver, new JobRegistry().register(EchoJob));
  addJobCommandRoute(routes, 'topiq/commands/jobs', dispatcher);
  const { pipeline, deadLetters } = memoryPipeline(routes, { dispatcher, publish });
  return { driver, deadLetters, pipeline };
}

describe('the MQTT job command route', () => {
  it('refuses a command with a misplaced key, an option of the wrong JSON type or null, or times that cannot be meant', async () => {
    const { driver, deadLetters, pipeline } = setup();
    const now = Date.now();
    const cases: [unknown, string, RegExp][] = [
      [{ payload, delay: 3600 }, 'E_INVALID_MESSAGE', /only "payload" and "options"; found "delay"/],
      [{ payload, option: { delay: 3600 } }, 'E_INVALID_MESSAGE', /found "option"/],
      [{ payload, options: { hold: 'false' } }, 'E_INVALID_OPTION', /"hold" must be a JSON boolean/],
      [{ payload, options: { jobId: null } }, 'E_INVALID_OPTION', /"jobId" must be a JSON string/],
      [{ payload, options: { priority: '1' } }, 'E_INVALID_OPTION', /"priority" must be a JSON number/],
      [{ payload, options: { constructor: 1 } }, 'E_INVALID_OPTION', /unknown dispatch option "constructor"/],
      [
        { payload, options: { expiresAt: Math.floor(now / 1000) + 600 } },
        'E_INVALID_OPTION',
        /would expire without running; times are epoch milliseconds/,
      ],
      [
        { payload, options: { delay: 60, expiresAt: now + 10_000 } },
        'E_INVALID_OPTION',
        /not after the time the job may run/,
      ],
      [
        { payload, options: { runAt: 1_700_000_000, expiresAt: 1_800_000_000 } },
        'E_INVALID_OPTION',
        /not after the time the job may run \(\d{13}\)/,
      ],
      [
        { payload, options: { delay: 60, runAt: now } },
        'E_INVALID_OPTION',
        /"delay" and "runAt".*one of them/,
      ],
      [{ payload, options: { maxTries: 0 } }, 'E_INVALID_OPTION', /maxTries must be .* 1 or more; got 0/],
      [
        { payload, options: { jobId: 'all' } },
        'E_INVALID_JOB_ID',
        /job id "all" is reserved: .*queue:retry all/,
      ],
      [{ payload, options: { runAt: 1e16 } }, 'E_INVALID_OPTION', /up to the year 9999/],
      [{ payload, options: { delay: 1e13 } }, 'E_INVALID_OPTION', /delay must end by the year 9999/],
      [{ payload, options: { delay: 1e306 } }, 'E_INVALID_OPTION', /delay must end by the year 9999/],
      [
        { payload, options: { delay: 1e306, expiresAt: now + 60_000 } },
        'E_INVALID_OPTION',
        /delay must end by the year 9999/,
      ],
    ];
    for (const [body] of cases) await pipeline.handle(fakeMessage(TOPIC, body));
    const dead = (await deadLetters.list(100)).reverse();
    expect(dead).toHaveLength(cases.length);
    cases.forEach(([body, code, reason], index) => {
      expect(dead[index]?.code, JSON.stringify(body)).toBe(code);
      expect(dead[index]?.reason, JSON.stringify(body)).toMatch(reason);
    });
    expect(await driver.counts('default')).toMatchObject({ waiting: 0, delayed: 0, pending: 0 });
  });

  it('refuses an option of the wrong type nested thousands deep with E_INVALID_OPTION, naming its kind, not echoing it', async () => {
    const { driver, deadLetters, pipeline } = setup();
    const depth = 20_000;
    const deep = (open: string, close: string) =>
      `{"payload":${JSON.stringify(payload)},"options":{"priority":${open.repeat(depth)}${close.repeat(depth)}}}`;
    await pipeline.handle(fakeMessage(TOPIC, deep('[', ']')));
    await pipeline.handle(fakeMessage(TOPIC, deep('{"a":', '}').replace('{"a":}', '{}')));
    await pipeline.handle(
      fakeMessage(TOPIC, JSON.stringify({ payload, options: { jobId: 7, queue: 'q'.repeat(100_000) } })),
    );
    const dead = (await deadLetters.list(10)).reverse();
    expect(dead.map((letter) => [letter.code, letter.reason])).toEqual([
      ['E_INVALID_OPTION', expect.stringMatching(/"priority" must be a JSON number .*; got an array$/)],
      ['E_INVALID_OPTION', expect.stringMatching(/"priority" must be a JSON number .*; got an object$/)],
      ['E_INVALID_OPTION', expect.stringMatching(/"jobId" must be a JSON string .*; got 7$/)],
    ]);
    await pipeline.handle(
      fakeMessage(TOPIC, JSON.stringify({ payload, options: { priority: 'q'.repeat(100_000) } })),
    );
    const [long] = await deadLetters.list(1);
    expect(long?.reason).toMatch(/; got "q{39}…" \(100000 characters\)$/);
    expect(await driver.counts('default')).toMatchObject({ waiting: 0, delayed: 0, pending: 0 });
  });

  it('refuses a retained command, which a broker would replay at every subscription, dispatching nothing', async () => {
    const { driver, deadLetters, pipeline } = setup();
    await pipeline.handle(fakeMessage(TOPIC, { payload }, { retain: true }));
    const [dead] = await deadLetters.list(10);
    expect(dead).toMatchObject({ code: 'E_INVALID_MESSAGE' });
    expect(dead?.reason).toMatch(
      /must not be retained.*empty retained message to topiq\/commands\/jobs\/EchoJob/,
    );
    expect(await driver.counts('default')).toMatchObject({ waiting: 0, delayed: 0, pending: 0 });
  });

  it('takes an empty message, which clears a retained command, for no command: no job, no failed message', async () => {
    const { driver, deadLetters, pipeline } = setup();
    await pipeline.handle(fakeMessage(TOPIC, Buffer.alloc(0), { retain: true }));
    await pipeline.handle(fakeMessage(TOPIC, Buffer.alloc(0)));
    expect(await deadLetters.list(10)).toEqual([]);
    expect(await driver.counts('default')).toMatchObject({ waiting: 0, delayed: 0, pending: 0 });
  });

  it('subscribes to commands through a shared subscription, so app instances take turns', () => {
    const routes = createRouteTable();
    addJobCommandRoute(routes, 'topiq/commands/jobs', new Dispatcher(new MemoryQueueDriver()));
    expect(routes.subscriptions().map((subscription) => subscription.filter)).toEqual([
      '$share/topiq/topiq/commands/jobs/+',
    ]);
  });

  it('dispatches a well-formed command with its options', async () => {
    const { driver, deadLetters, pipeline } = setup();
    const expiresAt = Date.now() + 60_000;
    await pipeline.handle(
      fakeMessage(TOPIC, { payload, options: { hold: true, jobId: 'cmd-1', expiresAt } }),
    );
    expect(await deadLetters.list(10)).toEqual([]);
    expect(await driver.getJob('default', 'cmd-1')).toMatchObject({ status: 'pending', payload, expiresAt });
  });

  it('keeps a dispatched job, and does not dead-letter its command, when the reply cannot be sent', async () => {
    const { driver, deadLetters, pipeline } = setup(async () => {
      throw new Error('the broker refused the response topic');
    });
    await pipeline.handle(
      fakeMessage(
        TOPIC,
        { payload, options: { jobId: 'cmd-2' } },
        { properties: { responseTopic: 'topiq/replies/me' } },
      ),
    );
    expect(await deadLetters.list(10)).toEqual([]);
    expect(pipeline.stats.deadLettered).toBe(0);
    expect((await driver.getJob('default', 'cmd-2'))?.status).toBe('queued');
  });

  it('answers only on response topics under the reply prefix, and refuses a command asking for another', async () => {
    const published: [string, string][] = [];
    const { driver, deadLetters, pipeline } = setup(async (topic, body) => {
      published.push([topic, String(body)]);
    });
    const command = (jobId: string, responseTopic: string) =>
      fakeMessage(TOPIC, { payload, options: { jobId } }, { properties: { responseTopic } });
    await pipeline.handle(command('ok', 'topiq/replies/dashboard-1'));
    await pipeline.handle(command('elsewhere', 'devices/sensor-1/commands'));
    await pipeline.handle(command('lookalike', 'topiq/replies-evil/x'));
    // wildcards under the prefix: a broker closes the connection of a client that publishes there
    await pipeline.handle(command('plus', 'topiq/replies/+'));
    await pipeline.handle(command('hash', 'topiq/replies/#'));
    expect(published).toEqual([['topiq/replies/dashboard-1', JSON.stringify({ id: 'ok' })]]);
    for (const refused of ['plus', 'hash']) expect(await driver.getJob('default', refused)).toBeUndefined();
    expect((await driver.getJob('default', 'ok'))?.status).toBe('queued');
    expect(await driver.getJob('default', 'elsewhere')).toBeUndefined();
    expect(await driver.getJob('default', 'lookalike')).toBeUndefined();
    const dead = await deadLetters.list(10);
    expect(dead.map((letter) => letter.code)).toEqual(Array(4).fill('E_INVALID_MESSAGE'));
    const reasons = dead.map((letter) => letter.reason).join('\n');
    expect(reasons).toMatch(
      /reply on "devices\/sensor-1\/commands", outside topiq\/replies\/: .*JOB_COMMAND_REPLY_TOPIC/,
    );
    expect(reasons).toMatch(/reply on "topiq\/replies\/#", which is no topic name \(it holds a wildcard/);
  });

  it('answers a command whose jobId exists already with duplicate: true, and adds nothing', async () => {
    const published: string[] = [];
    const { driver, deadLetters, pipeline } = setup(async (_topic, body) => {
      published.push(String(body));
    });
    const command = (value: string) =>
      fakeMessage(
        TOPIC,
        { payload: { ...payload, value }, options: { jobId: 'once' } },
        { properties: { responseTopic: 'topiq/replies/dashboard-1' } },
      );
    await pipeline.handle(command('first'));
    await pipeline.handle(command('second'));

    expect(published).toEqual([
      JSON.stringify({ id: 'once' }),
      JSON.stringify({ id: 'once', duplicate: true }),
    ]);
    expect((await driver.getJob('default', 'once'))?.payload).toMatchObject({ value: 'first' });
    expect(await deadLetters.list(10)).toEqual([]);
  });
});
