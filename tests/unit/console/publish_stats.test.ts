import { describe, expect, it } from 'vitest';
import {
  formatSummary,
  PublishStats,
  percentile,
} from '../../../bootstrap/commands/simulation/publish_stats.js';

/** A clock the test moves by hand. */
function manualClock() {
  let now = 0;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('percentile', () => {
  it('picks by nearest rank and is null for no samples', () => {
    const sorted = Array.from({ length: 100 }, (_, index) => index + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('PublishStats', () => {
  it('counts sent, acknowledged and failed publishes and measures publish-to-ack latency', () => {
    const clock = manualClock();
    const stats = new PublishStats(1);
    const first = stats.sent('status', clock.now);
    const second = stats.sent('telemetry', clock.now);
    const third = stats.sent('telemetry', clock.now);
    clock.advance(4);
    first();
    clock.advance(6);
    second();
    second(); // a repeated callback counts once
    third(new Error('connection closed'));

    const summary = stats.summary({ devices: 1, seconds: 2, stoppedEarly: false });
    expect(summary).toMatchObject({
      sent: 3,
      telemetry: 2,
      status: 1,
      acknowledged: 2,
      failed: 1,
      messagesPerSecond: 1.5,
      latencyMs: { p50: 4, p99: 10 },
    });
  });

  it('counts publishes never acknowledged as failed in the summary', () => {
    const stats = new PublishStats(1);
    stats.sent('telemetry');
    expect(stats.pending).toBe(1);
    expect(stats.summary({ devices: 1, seconds: 1, stoppedEarly: true })).toMatchObject({
      acknowledged: 0,
      failed: 1,
      latencyMs: null,
      stoppedEarly: true,
    });
  });

  it('reports no acknowledgements or latency at QoS 0', () => {
    const stats = new PublishStats(0);
    stats.sent('telemetry')();
    const summary = stats.summary({ devices: 1, seconds: 1, stoppedEarly: false });
    expect(summary.acknowledged).toBeNull();
    expect(summary.latencyMs).toBeNull();
    expect(formatSummary(summary)).toContain('n/a (QoS 0 has no PUBACK)');
  });
});

describe('formatSummary', () => {
  it('prints one aligned line per figure', () => {
    const text = formatSummary({
      devices: 3,
      qos: 1,
      sent: 63,
      telemetry: 60,
      status: 3,
      acknowledged: 63,
      failed: 0,
      seconds: 1,
      messagesPerSecond: 63,
      latencyMs: { p50: 1.2, p99: 4.5 },
      stoppedEarly: false,
    });
    expect(text.split('\n')).toEqual([
      'Done.',
      '  sent          63 (60 telemetry, 3 status)',
      '  acknowledged  63',
      '  failed        0',
      '  throughput    63 msg/s over 1 s',
      '  latency p50   1.2 ms (publish → PUBACK)',
      '  latency p99   4.5 ms',
    ]);
  });
});
