/**
 * The job of the end-to-end bench, shared by the app process (which dispatches it) and
 * the worker process (which runs it). Its `handle()` only hands the reading to a
 * recorder, so the bench measures the path to `handle()`, not work done inside it.
 */
import { Job } from '../core/index.js';

/** One telemetry reading as the bench's devices publish it, with the device id from the topic. */
export interface E2eReading {
  deviceId: string;
  seq: number;
  /** Epoch ms (fractional) when the device called publish. */
  sentAt: number;
  /** Epoch ms when the ingest process took the message from the broker. */
  receivedAt: number;
  temperature: number;
  humidity: number;
  at: string;
}

/** What the worker process does with each reading; set once before the worker starts. */
export type ReadingSink = (reading: E2eReading) => void;

let sink: ReadingSink | undefined;

/** Points every E2eTelemetryJob of this process at `next`. */
export function setReadingSink(next: ReadingSink): void {
  sink = next;
}

export class E2eTelemetryJob extends Job<E2eReading> {
  static override readonly jobName = 'E2eTelemetryJob';
  static override readonly maxTries = 3;

  async handle(reading: E2eReading): Promise<void> {
    if (!sink) throw new Error('E2eTelemetryJob ran before setReadingSink() was called');
    sink(reading);
  }
}

/**
 * Checks a decoded payload just enough to trust its fields: the bench's handler calls it
 * before dispatching, so a malformed message is dead-lettered rather than counted.
 */
export function toReading(deviceId: string, body: unknown): E2eReading | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { seq, sentAt, temperature, humidity, at } = body as Record<string, unknown>;
  if (!Number.isInteger(seq) || typeof sentAt !== 'number' || typeof temperature !== 'number')
    return undefined;
  return {
    deviceId,
    seq: seq as number,
    sentAt,
    receivedAt: preciseNow(),
    temperature,
    humidity: typeof humidity === 'number' ? humidity : 0,
    at: typeof at === 'string' ? at : '',
  };
}

/** Epoch milliseconds with sub-millisecond resolution, comparable across processes on one host. */
export function preciseNow(): number {
  return performance.timeOrigin + performance.now();
}
