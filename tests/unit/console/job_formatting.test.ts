import { describe, expect, it } from 'vitest';
import { isoTime, toJobOutput } from '../../../core/console/commands/job_formatting.js';
import type { JobRecord } from '../../../core/queue/driver.js';

const record: JobRecord = {
  id: 'j1',
  name: 'SendEmailJob',
  queue: 'emails',
  payload: {},
  status: 'queued',
  attempts: 0,
  maxTries: 5,
  priority: 0,
  progress: 0,
  progressMessage: null,
  progressData: null,
  result: null,
  error: null,
  createdAt: 0,
  queuedAt: 1_000,
  runAt: null,
  startedAt: null,
  finishedAt: null,
  expiresAt: null,
  worker: null,
  owner: null,
  description: null,
};

describe('isoTime', () => {
  it('prints epoch ms as ISO 8601 and no time as null', () => {
    expect(isoTime(1_000)).toBe('1970-01-01T00:00:01.000Z');
    expect(isoTime(null)).toBeNull();
  });

  it.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1e20])(
    'gives null for %s, a value no Date holds, instead of throwing',
    (value) => {
      expect(isoTime(value)).toBeNull();
    },
  );
});

describe('toJobOutput', () => {
  it('prints a damaged time of a record as null instead of throwing', () => {
    const output = toJobOutput({ ...record, queuedAt: Number.NaN, expiresAt: Number.POSITIVE_INFINITY });
    expect(output).toMatchObject({ createdAt: '1970-01-01T00:00:00.000Z', queuedAt: null, expiresAt: null });
  });
});
