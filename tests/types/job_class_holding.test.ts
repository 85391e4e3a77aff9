/**
 * Type-level proof that a job class is held to the payload its `handle()` can take however the
 * class is held: a helper's `JobClass<...>` parameter, a list. `tsc` (run by `npm test` before
 * vitest) fails if any `@ts-expect-error` below stops being an error.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { Dispatcher, JobClass } from '../../core/index.js';
import { Job } from '../../core/index.js';

/** A handle() that reads a `b` its class's payload does not have. */
class GreedyHandleJob extends Job<{ a: string }> {
  async handle(payload: { a: string; b: number }) {
    return void payload.b.toFixed();
  }
}
/** Classes whose handle() takes the payload { a }, or more loosely. */
class PlainJob extends Job<{ a: string }> {
  async handle(_payload: { a: string }) {}
}
class NarrowHandleJob extends Job<{ a: string }> {
  async handle(_payload: {}) {}
}
class SelfCheckingJob extends Job<{ a: string }> {
  async handle(_payload: unknown) {}
}
class NoParameterJob extends Job<{ a: string }> {
  async handle() {}
}

/** A generic helper over the jobs of one payload. */
function dispatchA(dispatcher: Dispatcher, job: JobClass<Job<{ a: string }>>) {
  return dispatcher.dispatch(job, { a: 'x' });
}

/** A subclass whose handle() reads a field its parent's payload lacks. */
class EmailJob extends Job<{ to: string }> {
  async handle(_payload: { to: string }) {}
}
class ChildEmailJob extends EmailJob {
  override async handle(payload: { to: string; extra: number }) {
    return void payload.extra.toFixed();
  }
}

function compileOnlyHeldAsJobClass(dispatcher: Dispatcher): void {
  // @ts-expect-error: GreedyHandleJob reads a `b` no dispatch gives: it is no job of payload { a }
  void dispatchA(dispatcher, GreedyHandleJob);
  // @ts-expect-error: nor in a list of such jobs
  const list: JobClass<Job<{ a: string }>>[] = [GreedyHandleJob];
  void list;
  // handle()s that take the payload, or need less of it, are jobs of it.
  const fitting: JobClass<Job<{ a: string }>>[] = [
    PlainJob,
    NarrowHandleJob,
    SelfCheckingJob,
    NoParameterJob,
  ];
  for (const job of fitting) void dispatchA(dispatcher, job);
  // A plain JobClass takes any class, and no payload unchecked.
  const loose: JobClass[] = [GreedyHandleJob, ChildEmailJob];
  void loose;

  // @ts-expect-error: the subclass's own dispatch is refused, as its handle() reads `extra`
  void ChildEmailJob.dispatch({ to: 'x' });
  // @ts-expect-error: and it is no JobClass of its parent's payload
  const asParentJob: JobClass<EmailJob> = ChildEmailJob;
  void asParentJob;
  // @ts-expect-error: nor of Job<{ to }>
  void dispatcher.dispatch<JobClass<Job<{ to: string }>>>(ChildEmailJob, { to: 'x' });
  // Not refused, and documented in docs/jobs.md: TypeScript takes a subclass for its parent's
  // constructor type (`const asParent: typeof EmailJob = ChildEmailJob`), comparing the
  // overridden handle() method's parameter loosely; no type of the framework can see it.
}

describe('job class holding types', () => {
  it('holds a class to the payload its handle() can take, however it is held', () => {
    expectTypeOf(compileOnlyHeldAsJobClass).toBeFunction();
  });
});
