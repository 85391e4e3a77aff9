import { describe, expect, it } from 'vitest';
import { MAX_CONNECT_BYTES, PacketSizeGuard } from '../../../core/broker/packet_size_guard.js';

/** A packet of `type` (first byte) whose remaining length is `length`, body included. */
function packet(type: number, length: number): Buffer {
  const header = [type];
  let rest = length;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    header.push(byte);
  } while (rest > 0);
  return Buffer.concat([Buffer.from(header), Buffer.alloc(length)]);
}

describe('PacketSizeGuard', () => {
  it('passes packets within the limits, whatever the chunks they arrive in', () => {
    const guard = new PacketSizeGuard(200_000);
    const stream = Buffer.concat([packet(0x10, 30), packet(0x30, 150_000), packet(0x30, 0), packet(0xc0, 0)]);
    for (let at = 0; at < stream.length; at += 7)
      expect(guard.push(stream.subarray(at, at + 7))).toBeUndefined();
  });

  it('refuses a first packet (CONNECT, before authentication) over 64 KiB', () => {
    const guard = new PacketSizeGuard(1_048_576);
    expect(guard.push(packet(0x10, MAX_CONNECT_BYTES + 1).subarray(0, 5))).toEqual({
      reason: 'too-large',
      bytes: MAX_CONNECT_BYTES + 1,
      limit: MAX_CONNECT_BYTES,
    });
  });

  it('refuses a later packet over the limit from its header alone, split across chunks', () => {
    const guard = new PacketSizeGuard(1024);
    expect(guard.push(packet(0x10, 20))).toBeUndefined();
    const big = packet(0x30, 268_435_455).subarray(0, 5);
    expect(guard.push(big.subarray(0, 3))).toBeUndefined();
    expect(guard.push(big.subarray(3))).toMatchObject({
      reason: 'too-large',
      bytes: 268_435_455,
      limit: 1024,
    });
  });

  it('refuses a remaining length longer than four bytes', () => {
    const guard = new PacketSizeGuard(1024);
    expect(guard.push(Buffer.from([0x10, 0xff, 0xff, 0xff, 0xff]))).toMatchObject({ reason: 'malformed' });
  });
});
