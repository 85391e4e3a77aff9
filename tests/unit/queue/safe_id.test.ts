/**
 * One id rule, written once in core (`isSafeId`): job ids, worker names, state ids and the
 * example app's device state ids all follow it, each caller keeping its own error.
 */
import { describe, expect, it } from 'vitest';
import { deviceStateId } from '../../../app/ids.js';
import { assertJobId, assertWorkerName, isSafeId } from '../../../core/index.js';
import { MemoryStateStore } from '../../../core/messaging/state_store.js';

/** Whether `check` throws. */
function throws(check: () => void): boolean {
  try {
    check();
    return false;
  } catch {
    return true;
  }
}

const SAFE = ['sensor-17', 'a', '0', 'host.example.com:4242:9f3a1c', 'a_b.c:d-e', 'a'.repeat(128)];
const UNSAFE: unknown[] = [
  '',
  'a'.repeat(129),
  '-leading',
  '_leading',
  '.leading',
  'lobby sensor',
  'w{1}',
  'a/b',
  'é',
  42,
  undefined,
];

describe('isSafeId', () => {
  it.each(SAFE)('accepts %j', (value) => {
    expect(isSafeId(value)).toBe(true);
  });

  it.each(UNSAFE)('refuses %j', (value) => {
    expect(isSafeId(value)).toBe(false);
  });

  it('accepts exactly the job ids, worker names and state ids that their checks accept', async () => {
    const store = new MemoryStateStore();
    for (const value of [...SAFE, ...UNSAFE.filter((item) => typeof item === 'string')]) {
      const safe = isSafeId(value);
      expect(throws(() => assertJobId(value))).toBe(!safe);
      expect(throws(() => assertWorkerName(value))).toBe(!safe);
      const merged = store.merge('devices', value as string, { seen: 1 }).then(
        () => true,
        () => false,
      );
      expect(await merged).toBe(safe);
      expect(deviceStateId(value as string) === value).toBe(safe);
    }
  });
});
