/** Unique names for tests, so parallel test files never share a queue. */
import { randomBytes } from 'node:crypto';

export function uniqueQueue(label = 'q'): string {
  return `test-${label}-${randomBytes(4).toString('hex')}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
