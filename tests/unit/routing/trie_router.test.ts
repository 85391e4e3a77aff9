import { describe, expect, it } from 'vitest';
import { TrieRouter } from '../../../core/routing/index.js';
import { describeTopicRouterContract } from './router_contract.js';

describeTopicRouterContract('TrieRouter', () => new TrieRouter());

describe('TrieRouter', () => {
  it('finds the same matches among 10,000 routes as among a handful', () => {
    const router = new TrieRouter<string>();
    for (let tenant = 0; tenant < 10_000; tenant++) {
      router.add(`tenants/t${tenant}/devices/{deviceId}/telemetry`, `t${tenant}`);
    }
    router.add('tenants/+/devices/+/#', 'audit');
    expect(router.match('tenants/t4242/devices/d7/telemetry').map((m) => m.handler)).toEqual([
      't4242',
      'audit',
    ]);
    expect(router.match('tenants/t4242/devices/d7/telemetry')[0]!.params).toEqual({ deviceId: 'd7' });
  });

  it('serves routes added after earlier matches', () => {
    const router = new TrieRouter<string>();
    router.add('a/{b}', 'first');
    expect(router.match('a/x')).toHaveLength(1);
    router.add('a/x', 'second');
    expect(router.match('a/x').map((m) => m.handler)).toEqual(['second', 'first']);
  });
});
