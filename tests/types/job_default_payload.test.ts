/**
 * Type-level proof that a class naming no payload (`extends Job`) takes the one its `handle()`
 * declares, an interface (no index signature) as well as a type alias, still checked as JSON.
 * `tsc` (run by `npm test` before vitest) fails if any `@ts-expect-error` below stops being an
 * error, or a class below stops compiling.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type { ApplicationOptions, Dispatcher, JobClass, JsonValue, PayloadOf } from '../../core/index.js';
import { QueueFake } from '../../core/testing/index.js';
import { Job } from '../../core/index.js';

/** Payloads declared as interfaces, the README's way. */
interface Reading {
  deviceId: string;
  value: number;
}
interface Stamped {
  deviceId: string;
  at: Date;
}
class InterfaceParamJob extends Job {
  async handle(_payload: Reading) {}
  override failed(_error: Error, _payload: Reading) {}
}
class StampedParamJob extends Job {
  async handle(_payload: Stamped) {}
}
class AliasParamJob extends Job {
  async handle(_payload: { deviceId: string; note?: string }) {}
}
/** A class naming no payload, with a handle() declaring none, takes any JSON value. */
class AnyJsonJob extends Job {
  async handle() {}
}

function compileOnlyDefaultPayload(dispatcher: Dispatcher): void {
  void InterfaceParamJob.dispatch({ deviceId: 'd1', value: 1 });
  void dispatcher.dispatch(InterfaceParamJob, { deviceId: 'd1', value: 1 });
  // @ts-expect-error: `value` is required by handle()'s interface
  void InterfaceParamJob.dispatch({ deviceId: 'd1' });
  // @ts-expect-error: a Date is not stored as it is, interface or not
  void StampedParamJob.dispatch({ deviceId: 'd1', at: new Date() });
  void AliasParamJob.dispatch({ deviceId: 'd1' });
  void AnyJsonJob.dispatch({ any: ['json', 1, null] });
  // @ts-expect-error: but only JSON
  void AnyJsonJob.dispatch({ at: new Date() });
}

/** A base class with `Job`'s old default (JsonValue): a subclass naming none takes its handle()'s. */
abstract class LoggedJob<T = JsonValue> extends Job<T> {}
class UnnamedLoggedJob extends LoggedJob {
  async handle(_payload: { deviceId: string }) {}
}
class NamedJob extends Job<{ a: string }, { n: number }> {
  async handle() {
    return { n: 1 };
  }
}

/** Classes that check the payload themselves (`unknown`) still take JSON values only. */
class UnknownParamJob extends Job {
  async handle(_payload: unknown) {}
}
class JsonNamedUnknownParamJob extends Job<JsonValue> {
  async handle(_payload: unknown) {}
}
function compileOnlyUnknownParam(): void {
  void UnknownParamJob.dispatch({ any: ['json'] });
  // @ts-expect-error: a Date is no JSON value
  void UnknownParamJob.dispatch(new Date());
  // @ts-expect-error: nor is a function
  void JsonNamedUnknownParamJob.dispatch(() => 1);
}

/** Any job class, as `JobClass` says, held in one list and given to the APIs that take them. */
const anyJobs: JobClass[] = [InterfaceParamJob, AliasParamJob, AnyJsonJob, UnnamedLoggedJob, NamedJob];
function compileOnlyAnyJobs(options: ApplicationOptions): void {
  QueueFake.install({ jobs: anyJobs });
  void ({ ...options, jobs: anyJobs } satisfies ApplicationOptions);
  void UnnamedLoggedJob.dispatch({ deviceId: 'd1' });
  // @ts-expect-error: its handle() needs deviceId
  void UnnamedLoggedJob.dispatch({});
}

describe('default job payload types', () => {
  it("takes the payload of handle() when the class names none, an interface's too", () => {
    expectTypeOf<PayloadOf<InterfaceParamJob>>().toEqualTypeOf<Reading>();
    expectTypeOf<PayloadOf<AliasParamJob>>().toEqualTypeOf<{ deviceId: string; note?: string }>();
    expectTypeOf<PayloadOf<AnyJsonJob>>().toEqualTypeOf<JsonValue>();
    expectTypeOf(compileOnlyDefaultPayload).toBeFunction();
    expectTypeOf<PayloadOf<UnnamedLoggedJob>>().toEqualTypeOf<{ deviceId: string }>();
    expectTypeOf(compileOnlyAnyJobs).toBeFunction();
    expectTypeOf<PayloadOf<UnknownParamJob>>().toEqualTypeOf<JsonValue>();
    expectTypeOf(compileOnlyUnknownParam).toBeFunction();
  });
});
