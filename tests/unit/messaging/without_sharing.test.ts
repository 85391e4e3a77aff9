import { describe, expect, it } from 'vitest';
import { withoutSharing } from '../../../core/messaging/mqtt_gateway.js';

describe('withoutSharing', () => {
  it('subscribes shared routes by their plain filter, merged with the highest QoS', () => {
    expect(
      withoutSharing([
        { filter: '$share/topiq/devices/+/telemetry', qos: 1 },
        { filter: 'devices/+/telemetry', qos: 2 },
        { filter: '$share/other/devices/+/status', qos: 0 },
        { filter: 'alerts/#', qos: 1 },
      ]),
    ).toEqual([
      { filter: 'devices/+/telemetry', qos: 2 },
      { filter: 'devices/+/status', qos: 0 },
      { filter: 'alerts/#', qos: 1 },
    ]);
  });
});
