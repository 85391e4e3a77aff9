/**
 * `ctx.reply` answers only under the reply prefix: the app publishes with its own rights, so a
 * device naming another device's topic as its response topic must not make the app write there.
 */
import { describe, expect, it } from 'vitest';
import { createRouteTable } from '../../../core/index.js';
import { fakeMessage } from '../../../core/testing/index.js';
import { memoryPipeline } from '../../support/memory_pipeline.js';

function setup(replyTopic?: string) {
  const routes = createRouteTable();
  routes.on('devices/{deviceId}/config/get', (ctx) => ctx.reply({ interval: 60 }));
  const published: string[] = [];
  const { pipeline, deadLetters } = memoryPipeline(routes, {
    publish: async (topic, payload) => void published.push(`${topic} ${payload}`),
    ...(replyTopic ? { replyTopic } : {}),
  });
  const ask = (responseTopic: string) =>
    pipeline.handle(fakeMessage('devices/d1/config/get', {}, { properties: { responseTopic } }));
  return { deadLetters, published, ask };
}

describe('ctx.reply', () => {
  it("refuses a response topic outside the reply prefix, such as another device's, publishing nothing", async () => {
    const { deadLetters, published, ask } = setup();
    await ask('devices/d2/commands');
    await ask('topiq/replies-other/x');
    expect(published).toEqual([]);
    const dead = await deadLetters.list(10);
    expect(dead.map((letter) => letter.code)).toEqual(['E_INVALID_MESSAGE', 'E_INVALID_MESSAGE']);
    expect(dead[1]?.reason).toMatch(/"devices\/d2\/commands", outside topiq\/replies\//);
  });

  it('answers under the reply prefix, the default or the configured one', async () => {
    const byDefault = setup();
    await byDefault.ask('topiq/replies/d1');
    expect(byDefault.published).toEqual(['topiq/replies/d1 {"interval":60}']);
    const configured = setup('fleet/answers');
    await configured.ask('fleet/answers/d1');
    await configured.ask('topiq/replies/d1');
    expect(configured.published).toEqual(['fleet/answers/d1 {"interval":60}']);
  });
});
