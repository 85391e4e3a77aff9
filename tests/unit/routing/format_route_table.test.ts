import { describe, expect, it } from 'vitest';
import { formatRouteTable, RouteTable } from '../../../core/routing/index.js';

describe('formatRouteTable', () => {
  it('renders one aligned row per route under a header, with - for empty cells', () => {
    const routes = new RouteTable<unknown, string>({ describeHandler: (handler) => handler });
    const auth = async (_ctx: unknown, next: () => Promise<void>) => next();
    routes.on('devices/{deviceId}/telemetry', 'TelemetryController.store', {
      shared: true,
      middleware: [auth],
    });
    routes.on('$SYS/#', 'logBrokerStats', { qos: 0 });
    expect(formatRouteTable(routes.routes()).split('\n')).toEqual([
      'Pattern                       Subscription                      QoS  Shared  Middleware  Handler',
      '----------------------------  --------------------------------  ---  ------  ----------  -------------------------',
      'devices/{deviceId}/telemetry  $share/topiq/devices/+/telemetry  1    topiq   auth        TelemetryController.store',
      '$SYS/#                        $SYS/#                            0    -       -           logBrokerStats',
    ]);
  });

  it('says so when there are no routes', () => {
    expect(formatRouteTable([])).toBe('No routes defined.');
  });
});
