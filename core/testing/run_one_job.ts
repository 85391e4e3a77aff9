/**
 * Runs one reserved job inside a test, the way `QueueFake.runNext()` needs it: one
 * attempt, no timeout, no lease renewal, no retries. The job is looked up in the
 * registry, its payload decoded and `handle(payload, context)` called with a real
 * `JobContext`; the outcome is written back to the driver so its records stay true.
 * A cancel of the running job aborts its signal, as on a worker.
 */
import { JobCancelledError, JobNotRegisteredError, LeaseLostError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Lease, QueueDriver, ReservedJob } from '../queue/driver.js';
import type { JobClass, JobContext } from '../queue/job.js';
import { JobAbort, untilAborted } from '../queue/job_abort.js';
import { decodeJson, encodeJson, type JsonValue } from '../queue/json.js';
import { ProgressSteps } from '../queue/progress_steps.js';
import { ProgressWriter } from '../queue/progress_writer.js';
import type { JobRegistry } from '../queue/registry.js';
import { storedError, thrownError } from '../queue/record_failure.js';

/** One `progress()` report of a job the fake ran, clamped to 0-100 as a worker stores it. */
export interface ProgressReport {
  percent: number;
  message: string | null;
  /** The report's data (partial results), or null. */
  data: JsonValue | null;
}

/** How one run ended. */
type JobRunEnd =
  | { status: 'completed'; result: JsonValue }
  | { status: 'failed'; error: Error }
  | { status: 'cancelled'; error: Error };

/** What running one job led to. */
export type JobRunResult = JobRunEnd & {
  /** Every `progress()` report of the run (steps' included), oldest first, clamped to 0-100. */
  progress: ProgressReport[];
};

/**
 * Runs `reserved` to its end and settles it with the driver. A job that throws is marked
 * failed for good (tests want one deterministic attempt) and its `failed()` hook runs; an
 * error thrown by that hook propagates, as it is a bug the test should see. A job whose
 * cancel was requested while it ran ends `cancelled`, without the hook, as on a worker:
 * the cancel aborts its signal with `E_JOB_CANCELLED` and the attempt stops waiting for it.
 * Progress is not coalesced here: every report is stored on the record and returned, so a
 * test sees each one. The context's `maxTries` is the job's own, or `tries` for a job that
 * sets none, as a worker started with `--tries` would say; the run is one attempt either way.
 */
export async function runOneJob(
  driver: QueueDriver,
  registry: JobRegistry,
  reserved: ReservedJob,
  log: Logger,
  tries: number,
): Promise<JobRunResult> {
  const lease: Lease = { id: reserved.id, queue: reserved.queue, token: reserved.token };
  const jobLog = log.child({ jobId: reserved.id, job: reserved.name, queue: reserved.queue });
  let jobClass: JobClass;
  try {
    jobClass = registry.get(reserved.name);
  } catch (cause) {
    // recorded as a worker records it, code and all
    await driver.fail({
      lease,
      error: {
        code: 'E_JOB_NOT_REGISTERED',
        message: `${reserved.name} is not registered with the QueueFake`,
      },
      retryInMs: null,
    });
    throw new JobNotRegisteredError(
      `QueueFake cannot run ${reserved.name}: it is not registered. Pass it to ` +
        `QueueFake.install({ jobs: [...] }) (e.g. the jobs of app/jobs/index.ts) or call fake.register(${reserved.name})`,
      { cause },
    );
  }
  let instance: InstanceType<JobClass> | undefined;
  const abort = new JobAbort();
  // how a worker learns at once that its running job was cancelled
  const stopListening = await driver.subscribeCancels((queue, id) => {
    if (queue === reserved.queue && id === reserved.id) {
      abort.abort(new JobCancelledError(`job ${id} was cancelled`));
    }
  });
  let payload: JsonValue | undefined;
  const reports: ProgressReport[] = [];
  // no interval: every report is written at once (the memory driver stores it synchronously)
  const writer = new ProgressWriter((percent, message, data) => {
    reports.push({ percent, message, data: data && decodeJson(data) });
    return driver.progress(lease, percent, message, data);
  }, 0);
  const progress = (percent: number, message?: string, data?: JsonValue): void =>
    writer.report(percent, message, data);
  const run = async (): Promise<JobRunEnd> => {
    try {
      payload = decodeJson(reserved.payload, `${reserved.name} payload`);
      // in the try, as on a worker: a constructor that throws fails the job, not the run call
      instance = new jobClass();
      const context: JobContext = {
        jobId: reserved.id,
        queue: reserved.queue,
        attempt: reserved.attempt,
        // as a worker tells it: the job's own maxTries, else the worker's (`tries`)
        maxTries: reserved.maxTries > 0 ? reserved.maxTries : tries,
        signal: abort.signal,
        log: jobLog,
        progress,
        steps: (total) => new ProgressSteps(total, progress),
      };
      const value = (await untilAborted(instance.handle(payload, context), abort)) as JsonValue | undefined;
      const result = encodeJson(value ?? null, `${reserved.name} result`);
      const [stored] = await driver.complete([{ lease, result }]);
      if (!stored) {
        return {
          status: 'failed',
          error: new LeaseLostError(
            `QueueFake could not record job ${reserved.id} completed: it was no longer running when ` +
              'handle() returned (removed from its queue meanwhile?)',
          ),
        };
      }
      // the value as stored, as a worker's record holds it: null for nothing, and no later
      // change the job makes to the object it returned
      return { status: 'completed', result: decodeJson(result) };
    } catch (caught) {
      // described as a worker describes it (record_failure.ts): whatever was thrown, never throwing
      const error = thrownError(caught);
      // stored as a worker stores it: message, code and stack, each cut to its bound
      const { outcome } = await driver.fail({ lease, error: storedError(error), retryInMs: null });
      if (outcome === 'cancelled') return { status: 'cancelled', error };
      // never 'retrying' (no retry is asked for); 'lost' only when the job was taken from this run
      // (removed, or a clock moved past even the fake's lease), and a worker runs no hook for an
      // attempt it could not record
      if (outcome !== 'failed') return { status: 'failed', error };
      await instance?.failed?.(error, payload, {
        jobId: reserved.id,
        queue: reserved.queue,
        attempts: reserved.attempt,
        log: jobLog,
      });
      return { status: 'failed', error };
    }
  };
  try {
    // a copy: a job that ignored its cancel may go on reporting after the run returned
    return { ...(await run()), progress: [...reports] };
  } finally {
    await stopListening();
  }
}
