/**
 * How a failed `QueueFake` assertion reads: an `AssertionError` (so test runners show it
 * as a failed expectation, not a crash) whose message lists what WAS dispatched.
 */
import { AssertionError } from 'node:assert';
import { truncate } from '../support/text.js';
import type { DispatchedJob } from './recording_queue_driver.js';

const MAX_LISTED = 20;
const MAX_PAYLOAD_CHARS = 160;

/**
 * A `QueueFake` assertion that did not hold.
 *
 * @example
 * try {
 *   fake.assertDispatched(SendEmailJob);
 * } catch (error) {
 *   error instanceof QueueAssertionError; // true, and error.message lists the dispatched jobs
 * }
 */
export class QueueAssertionError extends AssertionError {
  constructor(message: string, stackStartFn?: Function) {
    super({ message, ...(stackStartFn ? { stackStartFn } : {}) });
  }
}

/** Lists dispatched jobs for an error message, one per line, at most 20. */
export function describeDispatched(jobs: readonly DispatchedJob[], title = 'Dispatched jobs'): string {
  if (jobs.length === 0) return 'Nothing was dispatched.';
  const lines = jobs.slice(0, MAX_LISTED).map((job, index) => `  ${index + 1}. ${describeJob(job)}`);
  if (jobs.length > MAX_LISTED) lines.push(`  ... and ${jobs.length - MAX_LISTED} more`);
  return `${title} (${jobs.length}):\n${lines.join('\n')}`;
}

/** One job on one line: name, queue, payload, and the options that were set. */
export function describeJob(job: DispatchedJob): string {
  const options = [
    job.priority !== 0 ? `priority ${job.priority}` : '',
    job.delay > 0 ? `delay ${job.delay}s` : '',
    job.hold ? 'on hold' : '',
    job.duplicate ? 'duplicate id, not added' : '',
  ].filter(Boolean);
  const suffix = options.length > 0 ? ` (${options.join(', ')})` : '';
  return `${job.name} on "${job.queue}" [${job.id}] ${truncate(JSON.stringify(job.payload), MAX_PAYLOAD_CHARS)}${suffix}`;
}
