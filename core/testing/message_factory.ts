/**
 * Builds the `InboundMessage` a route test hands to `server.pipeline.handle()`, so a test
 * can exercise routes, middleware and handlers without starting a broker.
 */
import type { InboundMessage } from '../messaging/inbound_message.js';

/**
 * A QoS 1 message on `topic`. `body` is JSON-encoded, except a string, a Buffer or any other
 * byte view (a `Uint8Array` from `TextEncoder`, a protobuf or CBOR encoder), which is sent as
 * its raw bytes (to test payloads that are not JSON). `overrides` sets any other
 * field (`qos`, `retain`, `clientId`, `deviceId`, ...).
 *
 * @example
 * await server.pipeline.handle(fakeMessage('devices/d1/telemetry', { temperature: 35 }));
 * await server.pipeline.handle(fakeMessage('devices/d1/telemetry', 'not json'));
 * await server.pipeline.handle(fakeMessage('devices/d1/status', { online: true }, { clientId: 'd1' }));
 */
export function fakeMessage(
  topic: string,
  body: unknown,
  overrides: Partial<Omit<InboundMessage, 'topic' | 'payload'>> = {},
): InboundMessage {
  const payload =
    typeof body === 'string'
      ? Buffer.from(body, 'utf8')
      : Buffer.isBuffer(body)
        ? body
        : ArrayBuffer.isView(body)
          ? Buffer.from(body.buffer, body.byteOffset, body.byteLength)
          : toJson(body);
  return { qos: 1, retain: false, dup: false, properties: {}, ...overrides, topic, payload };
}

function toJson(body: unknown): Buffer {
  const text = JSON.stringify(body);
  // JSON.stringify(undefined) is undefined: send an empty payload rather than "undefined".
  return Buffer.from(text ?? '', 'utf8');
}
