import { describe, expect, it } from 'vitest';
import { fakeMessage } from '../../../core/index.js';

describe('fakeMessage', () => {
  it('builds a QoS 1 message whose payload is the JSON of the body', () => {
    const message = fakeMessage('devices/d1/telemetry', { temperature: 35 });
    expect(message).toEqual({
      topic: 'devices/d1/telemetry',
      payload: Buffer.from('{"temperature":35}'),
      qos: 1,
      retain: false,
      dup: false,
      properties: {},
    });
  });

  it('sends strings and Buffers as their raw bytes, to test payloads that are not JSON', () => {
    expect(fakeMessage('t', 'not json').payload.toString()).toBe('not json');
    expect(fakeMessage('t', Buffer.from([0xff, 0x00])).payload).toEqual(Buffer.from([0xff, 0x00]));
    expect(fakeMessage('t', undefined).payload.length).toBe(0);
  });

  it('sends a Uint8Array (TextEncoder, protobuf and CBOR encoders) as its raw bytes, a view of part of a buffer included', () => {
    const bytes = new TextEncoder().encode('\u0001\u0002binary');
    expect([...fakeMessage('t', bytes).payload]).toEqual([...bytes]);
    const part = new Uint8Array([9, 1, 2, 3, 9]).subarray(1, 4);
    expect([...fakeMessage('t', part).payload]).toEqual([1, 2, 3]);
  });

  it('lets the test set any other field', () => {
    const message = fakeMessage('t', null, { qos: 0, retain: true, clientId: 'c1', deviceId: 'd1' });
    expect(message).toMatchObject({ qos: 0, retain: true, clientId: 'c1', deviceId: 'd1' });
    expect(message.payload.toString()).toBe('null');
  });
});
