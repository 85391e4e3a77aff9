/**
 * A dead letter is bounded field by field, whatever the handler threw or the device sent: the
 * payload to 64 KiB (text cut on a character boundary, so it stays text), the reason to 4 KiB,
 * the topic and the client id to 1 KiB, each cut marked.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_NAME_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_REASON_BYTES,
  toDeadLetter,
} from '../../../core/messaging/dead_letters.js';
import { cutBytes } from '../../../core/support/text.js';

describe('toDeadLetter', () => {
  it('keeps a text payload cut inside a multi-byte character as text, cut before that character', () => {
    // 'é' is 2 bytes: after the 9-byte opening, the 64 KiB cut falls inside one
    const text = `{"note":"${'é'.repeat(40_000)}"}`;
    const entry = toDeadLetter({ topic: 't', payload: Buffer.from(text), reason: 'r' });

    expect(entry.encoding).toBe('utf8');
    expect(entry.truncated).toBe(true);
    expect(Buffer.byteLength(entry.payload)).toBe(MAX_PAYLOAD_BYTES - 1);
    expect(text.startsWith(entry.payload)).toBe(true);
  });

  it('cuts a 4-byte character whole, at each place the cut can fall in it', () => {
    for (const offset of [0, 1, 2, 3]) {
      const payload = Buffer.from(`${'a'.repeat(MAX_PAYLOAD_BYTES - offset)}${'😀'.repeat(4)}`);
      const entry = toDeadLetter({ topic: 't', payload, reason: 'r' });
      expect(entry.encoding).toBe('utf8');
      // the cut falls `offset` bytes into the first emoji (at its start for 0): it is left out
      expect(entry.payload).toBe('a'.repeat(MAX_PAYLOAD_BYTES - offset));
      expect(entry.truncated).toBe(true);
    }
  });

  it('still stores a binary payload as its first 64 KiB in base64', () => {
    const payload = Buffer.alloc(70 * 1024, 0xff);
    const entry = toDeadLetter({ topic: 't', payload, reason: 'r' });

    expect(entry.encoding).toBe('base64');
    expect(entry.truncated).toBe(true);
    expect(Buffer.from(entry.payload, 'base64')).toEqual(payload.subarray(0, MAX_PAYLOAD_BYTES));
  });

  it('cuts a reason quoting a 1 MiB payload to 4 KiB, saying how long it was', () => {
    const reason = `bad reading ${'x'.repeat(1024 * 1024)}`;
    const entry = toDeadLetter({ topic: 't', payload: Buffer.from('x'), reason });

    expect(Buffer.byteLength(entry.reason)).toBeLessThanOrEqual(MAX_REASON_BYTES);
    expect(entry.reason.startsWith('bad reading xxx')).toBe(true);
    expect(entry.reason.endsWith(`… [cut from ${Buffer.byteLength(reason)} bytes]`)).toBe(true);
    expect(Buffer.byteLength(JSON.stringify(entry))).toBeLessThan(6 * 1024);
  });

  it('cuts a topic and a client id past 1 KiB, and keeps short ones as they are', () => {
    const long = toDeadLetter({
      topic: `devices/${'d'.repeat(60_000)}/telemetry`,
      clientId: 'c'.repeat(60_000),
      payload: Buffer.from('x'),
      reason: 'r',
    });
    expect(Buffer.byteLength(long.topic)).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(long.topic).toMatch(/^devices\/d+… \[cut from 60018 bytes\]$/);
    expect(Buffer.byteLength(long.clientId ?? '')).toBeLessThanOrEqual(MAX_NAME_BYTES);
    expect(long.clientId).toMatch(/^c+… \[cut from 60000 bytes\]$/);

    const short = toDeadLetter({
      topic: 'devices/d1/telemetry',
      clientId: 'd1',
      payload: Buffer.from('x'),
      reason: 'r',
    });
    expect(short).toMatchObject({ topic: 'devices/d1/telemetry', clientId: 'd1', reason: 'r' });
  });
});

describe('cutBytes', () => {
  it('never splits a character and stays within the bound', () => {
    for (const max of [40, 41, 42, 43, 44]) {
      const cut = cutBytes('€'.repeat(100), max);
      expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(max);
      expect(cut).toMatch(/^€+… \[cut from 300 bytes\]$/);
    }
  });
});
