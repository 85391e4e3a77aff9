/**
 * Type-level proof that QueueFake's assertions and queries are typed by the job's payload:
 * `tsc` fails if any `@ts-expect-error` below stops being an error.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { DispatchedJob, QueueFake } from '../../../core/index.js';
import { type EmailPayload, EmailJob, ReadingJob } from './fixtures.js';

function compileOnly(fake: QueueFake): void {
  fake.assertDispatched(EmailJob, (payload) => payload.to === 'x');
  fake.assertDispatched(EmailJob, (payload, job) => payload.subject === 'hi' && job.priority < 0);
  // @ts-expect-error: EmailJob's payload has no `deviceId`
  fake.assertDispatched(EmailJob, (payload) => payload.deviceId === 'd1');
  // @ts-expect-error: `value` is a number, not a string
  fake.assertNotDispatched(ReadingJob, (payload) => payload.value.startsWith('1'));
  // @ts-expect-error: the predicate must return a boolean
  fake.assertDispatchedTimes(ReadingJob, 1, (payload) => payload.deviceId);
  // @ts-expect-error: only job classes can be asserted on
  fake.assertDispatched(Date);

  expectTypeOf(fake.dispatched(EmailJob)).toEqualTypeOf<EmailPayload[]>();
  expectTypeOf(fake.dispatched(ReadingJob)).toEqualTypeOf<{ deviceId: string; value: number }[]>();
  expectTypeOf(fake.dispatchedJobs(EmailJob)).toEqualTypeOf<DispatchedJob<EmailPayload>[]>();
}

describe('QueueFake types', () => {
  it('type-checks (see tsc)', () => {
    expectTypeOf(compileOnly).toBeFunction();
  });
});
