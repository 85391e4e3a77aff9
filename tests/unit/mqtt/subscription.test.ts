import type { IConnackPacket, IPublishPacket } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { isTopiqError } from '../../../core/errors.js';
import { connackRefusal } from '../../../core/mqtt/connack_refusal.js';
import { toMqttMessage } from '../../../core/mqtt/mqtt_message.js';
import { normalizeSubscriptions, SubscriptionRefusedError } from '../../../core/mqtt/subscription.js';

describe('normalizeSubscriptions', () => {
  it('accepts wildcards and shared filters and keeps the highest QoS of a repeated filter', () => {
    const merged = normalizeSubscriptions([
      { filter: 'devices/+/telemetry', qos: 0 },
      { filter: '$share/ingest/devices/#', qos: 1 },
      { filter: 'devices/+/telemetry', qos: 1 },
    ]);
    expect([...merged]).toEqual([
      ['devices/+/telemetry', 1],
      ['$share/ingest/devices/#', 1],
    ]);
  });

  it.each(['devices/#/x', 'devices/a+', '', '$share//devices/#', '$share/group'])(
    'rejects the malformed filter "%s" with InvalidOptionError',
    (filter) => {
      expect(() => normalizeSubscriptions([{ filter, qos: 1 }])).toThrowError(
        expect.objectContaining({ code: 'E_INVALID_OPTION' }),
      );
    },
  );
});

describe('SubscriptionRefusedError', () => {
  it('names each refused filter with its reason code and is a Topiq error', () => {
    const error = new SubscriptionRefusedError(
      [{ filter: 'admin/#', reasonCode: 0x87, reason: 'not authorized' }],
      'mqtt://b:1883',
    );
    expect(isTopiqError(error)).toBe(true);
    expect(error.message).toContain('"admin/#" (0x87 not authorized)');
  });
});

describe('connackRefusal', () => {
  const connack = (fields: Partial<IConnackPacket>): IConnackPacket => ({
    cmd: 'connack',
    sessionPresent: false,
    ...fields,
  });

  it('reads accepted connections as no refusal', () => {
    expect(connackRefusal(connack({ reasonCode: 0 }), 5)).toBeUndefined();
  });

  it('treats bad credentials as permanent and a busy server as worth retrying', () => {
    expect(connackRefusal(connack({ reasonCode: 0x86 }), 5)).toMatchObject({ permanent: true });
    expect(connackRefusal(connack({ returnCode: 4 }), 4)).toMatchObject({ permanent: true });
    expect(connackRefusal(connack({ reasonCode: 0x89 }), 5)).toMatchObject({ permanent: false });
  });

  it('points "not authorized" at the credentials as well as the ACL, since Mosquitto 2 answers a wrong password with it', () => {
    for (const refusal of [
      connackRefusal(connack({ reasonCode: 0x87 }), 5),
      connackRefusal(connack({ returnCode: 5 }), 4),
    ]) {
      expect(refusal).toMatchObject({ reason: 'not authorized', permanent: true });
      expect(refusal?.advice).toMatch(/MQTT_USERNAME and MQTT_PASSWORD/);
      expect(refusal?.advice).toMatch(/ACL/);
    }
  });

  it('reads a 3.1.1 answer to an MQTT 5 CONNECT as advice to use protocolVersion 4', () => {
    expect(connackRefusal(connack({ reasonCode: 1 }), 5)?.advice).toContain('protocolVersion: 4');
  });
});

describe('toMqttMessage', () => {
  it('copies the MQTT 5 properties the consumer needs and nothing it does not', () => {
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: 'devices/7/up',
      payload: Buffer.from('x'),
      qos: 1,
      dup: true,
      retain: false,
      messageId: 3,
      properties: { contentType: 'application/json', topicAlias: 4, userProperties: { a: '1' } },
    };
    expect(toMqttMessage(packet)).toEqual({
      topic: 'devices/7/up',
      payload: Buffer.from('x'),
      qos: 1,
      dup: true,
      retain: false,
      properties: { contentType: 'application/json', userProperties: { a: '1' } },
    });
  });

  it("keeps a device's user properties in an object without a prototype, so no name reaches Object.prototype's members", () => {
    const userProperties = Object.assign(Object.create(null), { a: '1' }) as Record<string, string>;
    const packet: IPublishPacket = {
      cmd: 'publish',
      topic: 'devices/7/up',
      payload: Buffer.from('x'),
      qos: 0,
      dup: false,
      retain: false,
      properties: { userProperties },
    };
    const copied = toMqttMessage(packet).properties.userProperties!;

    expect(Object.getPrototypeOf(copied)).toBeNull();
    expect(copied.constructor).toBeUndefined();
    expect('toString' in copied).toBe(false);
    expect(copied.a).toBe('1');
  });
});
