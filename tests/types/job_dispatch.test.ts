/**
 * Type-level proof that the public job API is typed end to end: a wrong payload does not
 * compile. `tsc` (run by `npm test` before vitest) fails if any `@ts-expect-error` below
 * stops being an error; the runtime test only keeps vitest aware of the file.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type {
  Dispatcher,
  JobClass,
  JobContext,
  MessageContext,
  PayloadOf,
  QueueFake,
  ResultOf,
} from '../../core/index.js';
import { Job } from '../../core/index.js';

interface EmailPayload {
  to: string;
  subject: string;
  cc?: string[];
}

class TypedEmailJob extends Job<EmailPayload, { messageId: string }> {
  async handle(payload: EmailPayload, _context: JobContext) {
    return { messageId: payload.to };
  }
}

class ReadingJob extends Job<{ deviceId: string; value: number }> {
  async handle(_payload: { deviceId: string; value: number }) {}
}

/** A job that needs no field of its payload: `handle()` declares no parameter. */
class NightlyReportJob extends Job<{ day: string }> {
  async handle() {}
}

/** The same, with a `failed()` hook that takes the error alone. */
class NightlyCleanupJob extends Job<{ day: string }> {
  async handle() {}
  override failed(_error: Error) {}
}

function compileOnly(dispatcher: Dispatcher): void {
  void TypedEmailJob.dispatch({ to: 'a@example.com', subject: 'hi' });
  void TypedEmailJob.dispatch(
    { to: 'a@example.com', subject: 'hi', cc: ['b@example.com'] },
    { priority: -1 },
  );
  // @ts-expect-error: `to` must be a string
  void TypedEmailJob.dispatch({ to: 42, subject: 'hi' });
  // @ts-expect-error: `subject` is required
  void TypedEmailJob.dispatch({ to: 'a@example.com' });
  // @ts-expect-error: unknown property
  void TypedEmailJob.dispatch({ to: 'a@example.com', subject: 'hi', bcc: 'x' });
  // @ts-expect-error: the abstract base class cannot be dispatched
  void Job.dispatch({});
  void TypedEmailJob.dispatchMany([{ to: 'a@example.com', subject: 'x' }]);
  void TypedEmailJob.dispatchMany([
    { to: 'a@example.com', subject: 'x' },
    // @ts-expect-error: one payload of the batch is wrong
    { to: 1, subject: 'y' },
  ]);

  void dispatcher.dispatch(ReadingJob, { deviceId: 'd1', value: 1 });
  // @ts-expect-error: the payload belongs to another job
  void dispatcher.dispatch(ReadingJob, { to: 'a@example.com', subject: 'hi' });
  void dispatcher.dispatchMany([
    { job: TypedEmailJob, payload: { to: 'a@example.com', subject: 'x' } },
    { job: ReadingJob, payload: { deviceId: 'd1', value: 2 } },
  ]);
  void dispatcher.dispatchMany([
    { job: TypedEmailJob, payload: { to: 'a@example.com', subject: 'x' } },
    // @ts-expect-error: each entry is checked against its own job's payload
    { job: ReadingJob, payload: { to: 'a@example.com', subject: 'x' } },
  ]);
  // @ts-expect-error: options are typed too
  void TypedEmailJob.dispatch({ to: 'a@example.com', subject: 'hi' }, { priority: 'high' });
}

/** Payloads whose fields the compiler cannot check: left to the run-time check at dispatch. */
class LooseRecordJob extends Job<Record<string, unknown>> {
  async handle(_payload: Record<string, unknown>) {}
}
class UnknownPayloadJob extends Job<unknown> {
  async handle(_payload: unknown) {}
}

/** A payload JSON would change: a Date becomes a string, a bigint cannot be written at all. */
class StampedJob extends Job<{ at: Date; count: bigint }> {
  async handle(_payload: { at: Date; count: bigint }) {}
}

/** Payloads JSON would change in ways harder to see. */
class SamplesJob extends Job<{ values: (number | undefined)[] }> {
  async handle() {}
}
class Device {
  id = 'd1';
}
class FactoryJob extends Job<{ kind: typeof Device }> {
  async handle() {}
}
/** Numeric keys are written as their digits: JSON carries them. */
class ChannelsJob extends Job<{ byChannel: Record<number, string> }> {
  async handle() {}
}

function compileOnlyWithHiddenChanges(): void {
  // @ts-expect-error: `undefined` in an array is written as null
  void SamplesJob.dispatch({ values: [1, undefined] });
  void SamplesJob.dispatch({ values: [1, 2] });
  // @ts-expect-error: a class (a constructor) is a function, not data
  void FactoryJob.dispatch({ kind: Device });
  void ChannelsJob.dispatch({ byChannel: { 1: 'a', 2: 'b' } });
  // @ts-expect-error: one jobId for many jobs: Job.dispatchMany takes none
  void ChannelsJob.dispatchMany([{ byChannel: {} }, { byChannel: {} }], { jobId: 'same' });
  void ChannelsJob.dispatchMany([{ byChannel: {} }], { priority: -1 });
}

function compileOnlyWithLooseClasses(dispatcher: Dispatcher, ctx: MessageContext<{}>, urgent: boolean): void {
  // A union of classes takes only what every one of them takes.
  const either = urgent ? TypedEmailJob : ReadingJob;
  // @ts-expect-error: an email payload is no reading
  void dispatcher.dispatch(either, { to: 'a@example.com', subject: 'hi' });
  // @ts-expect-error: the same through a route's context
  void ctx.dispatch(either, { deviceId: 'd1', value: 1 });
  // A class typed as a plain JobClass (a registry lookup, a list of jobs) takes no payload unchecked.
  const loose: JobClass = TypedEmailJob;
  // @ts-expect-error: its payload type is unknown here
  void dispatcher.dispatch(loose, 42);
  // @ts-expect-error: nor through a route's context
  void ctx.dispatch(loose, { anything: true });
  // A payload JSON would change is refused.
  // @ts-expect-error: a Date and a bigint are not stored as they are
  void StampedJob.dispatch({ at: new Date(), count: 1n });
  // @ts-expect-error: nor through the dispatcher
  void dispatcher.dispatch(StampedJob, { at: new Date(), count: 1n });
  // An interface of JSON values passes (no index signature needed).
  void dispatcher.dispatch(TypedEmailJob, { to: 'a@example.com', subject: 'hi', cc: ['b@example.com'] });
  void ctx.dispatch(ReadingJob, { deviceId: 'd1', value: 1 });
  // Fields typed `unknown` pass: the compiler cannot tell, the dispatch checks at run time.
  void LooseRecordJob.dispatch({ reading: 21.5, tags: ['a'] });
  void ctx.dispatch(UnknownPayloadJob, { anything: [1, 'two'] });
}

function compileOnlyWithoutHandleParameter(dispatcher: Dispatcher, fake: QueueFake): void {
  void NightlyReportJob.dispatch({ day: '2030-01-01' });
  // @ts-expect-error: `handle()` declares no parameter, yet the payload is still Job<{ day: string }>'s
  void NightlyReportJob.dispatch({ dya: 42 });
  // @ts-expect-error: a payload is still required
  void NightlyReportJob.dispatch();
  // @ts-expect-error: a `failed()` hook without a payload parameter does not loosen it either
  void NightlyCleanupJob.dispatch({ dya: 42 });
  // @ts-expect-error: nor does dispatching through a dispatcher
  void dispatcher.dispatch(NightlyReportJob, { day: 1 });
  expectTypeOf(fake.dispatched(NightlyReportJob)).toEqualTypeOf<{ day: string }[]>();
}

/** `handle()` declares a narrower payload than the class names: methods' parameters are checked loosely. */
class NarrowHandleJob extends Job<{ deviceId: string; value: number }> {
  async handle({ deviceId }: { deviceId: string }) {
    void deviceId;
  }
}
/** `handle()` takes `unknown`, to check the payload itself. */
class SelfCheckingJob extends Job<{ deviceId: string; value: number }> {
  async handle(_payload: unknown) {}
}
/** Payloads with one field more or less than each other. */
class SmallJob extends Job<{ a: string }> {
  async handle(_payload: { a: string }) {}
}
class BigJob extends Job<{ a: string; b: number }> {
  async handle(_payload: { a: string; b: number }) {}
}

/** A handle() that asks for a field its class's payload does not have. */
class GreedyHandleJob extends Job<{ a: string }> {
  async handle(_payload: { a: string; b: number }) {}
}

function compileOnlyWithHandleUnlikeTheClass(dispatcher: Dispatcher, ctx: MessageContext<{}>): void {
  // @ts-expect-error: handle() would read a `b` that no dispatch of the class gives
  void GreedyHandleJob.dispatch({ a: 'x' });
  // @ts-expect-error: nor through a route's context
  void ctx.dispatch(GreedyHandleJob, { a: 'x', b: 1 });
  void NarrowHandleJob.dispatch({ deviceId: 'd1', value: 1 });
  // @ts-expect-error: `value` is required by the class's payload, though handle() reads only deviceId
  void NarrowHandleJob.dispatch({ deviceId: 'd1' });
  // @ts-expect-error: a handle() taking `unknown` does not make any payload dispatchable
  void SelfCheckingJob.dispatch(42);
  // @ts-expect-error: nor through a route's context
  void ctx.dispatch(SelfCheckingJob, 'not a reading');
  // @ts-expect-error: a class whose payload has more fields is no class of the smaller payload
  const asSmall: typeof SmallJob = BigJob;
  void dispatcher.dispatch(asSmall, { a: 'x' });
  // @ts-expect-error: nor in a list of them
  const smallJobs: JobClass<SmallJob>[] = [BigJob];
  void smallJobs;
}

describe('job dispatch types', () => {
  it('infers payload and result types from handle()', () => {
    expectTypeOf<PayloadOf<TypedEmailJob>>().toEqualTypeOf<EmailPayload>();
    expectTypeOf<ResultOf<TypedEmailJob>>().toEqualTypeOf<{ messageId: string }>();
    expectTypeOf<ReturnType<typeof TypedEmailJob.dispatch<typeof TypedEmailJob>>>().toEqualTypeOf<
      Promise<string>
    >();
    expectTypeOf(compileOnly).toBeFunction();
    expectTypeOf(compileOnlyWithLooseClasses).toBeFunction();
    expectTypeOf(compileOnlyWithHiddenChanges).toBeFunction();
  });

  it('takes the payload from Job<TPayload> when handle() declares no parameter', () => {
    expectTypeOf<PayloadOf<NightlyReportJob>>().toEqualTypeOf<{ day: string }>();
    expectTypeOf<PayloadOf<NightlyCleanupJob>>().toEqualTypeOf<{ day: string }>();
    expectTypeOf(compileOnlyWithoutHandleParameter).toBeFunction();
  });

  it('takes the payload from Job<TPayload> when handle() declares another, and holds a class to its own', () => {
    expectTypeOf<PayloadOf<NarrowHandleJob>>().toEqualTypeOf<{ deviceId: string; value: number }>();
    expectTypeOf<PayloadOf<SelfCheckingJob>>().toEqualTypeOf<{ deviceId: string; value: number }>();
    expectTypeOf(compileOnlyWithHandleUnlikeTheClass).toBeFunction();
  });
});
