import { describe, expect, it } from 'vitest';
import { decodeRecord } from '../../../../../core/queue/drivers/redis/record_codec.js';

const createdAt = 1_760_000_000_000;
const spec = `SendEmailJob\n5\n2\n${createdAt}\n{"to":"ops@example.com"}`;

describe('decodeRecord', () => {
  it('reads the time fields of a sound record as epoch ms', () => {
    const record = decodeRecord('emails', 'j1', {
      spec,
      attempts: '1',
      queuedAt: String(createdAt + 1),
      startedAt: String(createdAt + 2),
    });
    expect(record).toMatchObject({
      createdAt,
      queuedAt: createdAt + 1,
      startedAt: createdAt + 2,
      runAt: null,
      attempts: 1,
      maxTries: 5,
      priority: 2,
    });
  });

  it.each(['x', 'NaN', 'Infinity', '-Infinity', '1e20'])(
    'reads a damaged time field (%j) as no time, so the record is still shown',
    (value) => {
      const record = decodeRecord('emails', 'j1', {
        spec,
        queuedAt: value,
        runAt: value,
        startedAt: value,
        finishedAt: value,
        expiresAt: value,
      });
      expect(record).toMatchObject({
        queuedAt: null,
        runAt: null,
        startedAt: null,
        finishedAt: null,
        expiresAt: null,
      });
    },
  );

  it('reads damaged numbers it cannot leave empty (attempts, progress, tries, priority, creation time) as 0', () => {
    const record = decodeRecord('emails', 'j1', {
      spec: 'SendEmailJob\nmany\nhigh\nyesterday\n{}',
      attempts: 'x',
      progress: 'half',
    });
    expect(record).toMatchObject({ attempts: 0, progress: 0, maxTries: 0, priority: 0, createdAt: 0 });
  });

  it("reads a damaged finish time of a completed job's completion as no time", () => {
    const record = decodeRecord('emails', 'j1', { spec, attempts: '1' }, { finishedAt: Number.NaN });
    expect(record).toMatchObject({ status: 'completed', finishedAt: null });
  });
});
