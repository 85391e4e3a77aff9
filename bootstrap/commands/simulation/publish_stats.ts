/**
 * Counts what `devices:simulate` published and how the broker answered, and turns the
 * counts into the end-of-run summary (throughput, publish→PUBACK latency percentiles).
 */
import type { Qos } from '../../../core/routing/index.js';

/** What kind of message a publish carried. */
export type MessageKind = 'telemetry' | 'status';

/** The end-of-run numbers, as `devices:simulate --json` prints them. */
export interface SimulationSummary {
  devices: number;
  qos: Qos;
  /** Publishes handed to the MQTT client. */
  sent: number;
  telemetry: number;
  status: number;
  /** PUBACKs (QoS 1) or PUBCOMPs (QoS 2) received; null at QoS 0, which has none. */
  acknowledged: number | null;
  /** Publishes that errored or were never acknowledged before disconnecting. */
  failed: number;
  /** Seconds the publishing window lasted (shorter when stopped early). */
  seconds: number;
  /** `sent / seconds`. */
  messagesPerSecond: number;
  /** Publish→acknowledgement latency in ms; null at QoS 0 or when nothing was acknowledged. */
  latencyMs: { p50: number; p99: number } | null;
  /** Whether Ctrl-C ended the run before its duration. */
  stoppedEarly: boolean;
}

/**
 * The `p`-th percentile (0–100) of `sorted` by nearest rank, or null when it is empty.
 *
 * @example
 * percentile([1, 2, 3, 4], 50); // 2
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((Math.min(100, Math.max(0, p)) / 100) * sorted.length);
  return sorted[Math.max(0, rank - 1)] ?? null;
}

/**
 * The running tally of one simulation.
 *
 * @example
 * const stats = new PublishStats(1);
 * const done = stats.sent('telemetry');
 * client.publish(topic, body, { qos: 1 }, (error) => done(error));
 */
export class PublishStats {
  readonly qos: Qos;
  #sent = 0;
  readonly #byKind: Record<MessageKind, number> = { telemetry: 0, status: 0 };
  #completed = 0;
  #failed = 0;
  readonly #latencies: number[] = [];

  constructor(qos: Qos) {
    this.qos = qos;
  }

  /**
   * Records a publish; returns the callback to call once the client reports its outcome
   * (an error, or success: PUBACK/PUBCOMP at QoS 1/2, written to the socket at QoS 0).
   * Only the first call of the returned callback counts.
   */
  sent(kind: MessageKind, now: () => number = performance.now.bind(performance)): (error?: unknown) => void {
    this.#sent++;
    this.#byKind[kind]++;
    const started = now();
    let settled = false;
    return (error) => {
      if (settled) return;
      settled = true;
      if (error) {
        this.#failed++;
        return;
      }
      this.#completed++;
      if (this.qos > 0) this.#latencies.push(now() - started);
    };
  }

  /** Publishes handed to the client so far. */
  get sentCount(): number {
    return this.#sent;
  }

  /** Publishes that succeeded (acknowledged at QoS 1/2). */
  get completedCount(): number {
    return this.#completed;
  }

  /** Publishes that failed so far. */
  get failedCount(): number {
    return this.#failed;
  }

  /** Publishes whose outcome is not known yet. */
  get pending(): number {
    return this.#sent - this.#completed - this.#failed;
  }

  /** The summary of the run so far; publishes still pending count as failed. */
  summary(options: { devices: number; seconds: number; stoppedEarly: boolean }): SimulationSummary {
    const sorted = [...this.#latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    return {
      devices: options.devices,
      qos: this.qos,
      sent: this.#sent,
      telemetry: this.#byKind.telemetry,
      status: this.#byKind.status,
      acknowledged: this.qos > 0 ? this.#completed : null,
      failed: this.#failed + this.pending,
      seconds: round(options.seconds, 3),
      messagesPerSecond: options.seconds > 0 ? round(this.#sent / options.seconds, 1) : 0,
      latencyMs: p50 === null || p99 === null ? null : { p50: round(p50, 2), p99: round(p99, 2) },
      stoppedEarly: options.stoppedEarly,
    };
  }
}

/**
 * The summary as lines for a terminal.
 *
 * @example
 * formatSummary(summary);
 * // sent          63 (60 telemetry, 3 status)
 * // acknowledged  63
 * // ...
 */
export function formatSummary(summary: SimulationSummary): string {
  const rows: [string, string][] = [
    ['sent', `${summary.sent} (${summary.telemetry} telemetry, ${summary.status} status)`],
    [
      'acknowledged',
      summary.acknowledged === null ? 'n/a (QoS 0 has no PUBACK)' : String(summary.acknowledged),
    ],
    ['failed', String(summary.failed)],
    ['throughput', `${summary.messagesPerSecond} msg/s over ${summary.seconds} s`],
    [
      'latency p50',
      summary.latencyMs
        ? `${summary.latencyMs.p50} ms (publish → ${summary.qos === 2 ? 'PUBCOMP' : 'PUBACK'})`
        : 'n/a',
    ],
    ['latency p99', summary.latencyMs ? `${summary.latencyMs.p99} ms` : 'n/a'],
  ];
  const width = Math.max(...rows.map(([label]) => label.length));
  const heading = summary.stoppedEarly ? 'Stopped early.' : 'Done.';
  return [heading, ...rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`)].join('\n');
}

function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
