/**
 * Gives jobs a worker reserved ahead back to their queues without running them: those it sheds
 * once its jobs grow long, those whose `expiresAt` passed before a slot freed, and those whose
 * cancel it heard; and announces what became of each. It keeps the calls in flight, so that a
 * shutdown waits for them, and the expired jobs it could not hand back yet, whose leases the
 * worker renews meanwhile.
 */
import type { Logger } from '../logger.js';
import type { QueueDriver, ReleaseOutcome, ReservedJob } from './driver.js';
import type { JobEventPublisher } from './job_events.js';
import { leaseOf } from './lease_keeper.js';
import { distinctQueues, jobFields } from './names.js';
import { whileRedisPasses } from './record_failure.js';

/** Keeps `settling` in `into` until it settles, so that a shutdown can wait for it. */
export function track(settling: Promise<void>, into: Set<Promise<void>>): void {
  into.add(settling);
  void settling.finally(() => into.delete(settling));
}

export class HandBacks {
  /**
   * Reserved-ahead jobs that passed their `expiresAt` and could not be handed back yet (Redis
   * away): their leases are renewed and the hand-back tried again with each renewal, and on
   * shutdown, so they are not failed for a lapsed lease.
   */
  readonly unreleased: ReservedJob[] = [];
  /**
   * Calls in flight that end reserved-ahead jobs without running them (the hand-back of an
   * expired one, the cancel of a cancelled one), awaited on shutdown.
   */
  readonly releasing = new Set<Promise<void>>();
  /** Hand-backs of jobs reserved ahead in flight ({@link HandBacks.shed}, {@link HandBacks.cancel}). */
  #handingBack = 0;
  readonly #driver: QueueDriver;
  readonly #log: Logger;
  readonly #events: JobEventPublisher | undefined;
  /** Wakes the worker's loop when a hand-back that put jobs back in their queues settles. */
  readonly #settled: () => void;

  constructor(driver: QueueDriver, log: Logger, events: JobEventPublisher | undefined, settled: () => void) {
    this.#driver = driver;
    this.#log = log;
    this.#events = events;
    this.#settled = settled;
  }

  /** Hand-backs in flight that put jobs back in their queues: jobs not done with yet. */
  get handingBack(): number {
    return this.#handingBack;
  }

  /**
   * Hands back the jobs held reserved ahead once the worker, left to decide, finds its jobs
   * clearly long ({@link ReserveAhead.jobsLong}): reserved while jobs were short, each would
   * otherwise wait a whole long job here while an idle worker could run it. They go back to
   * the front of their queues, attempts not counted, and never run here under this lease.
   * While Redis is away the release is tried again; if it still fails, their leases, no
   * longer renewed, end, and the reserve that takes them back gives their attempts back too.
   */
  shed(jobs: readonly ReservedJob[]): void {
    const jobIds = jobs.map((job) => job.id);
    const queues = distinctQueues(jobs);
    const settling = whileRedisPasses(
      () => this.#driver.release(jobs.map(leaseOf)),
      (error, retryInMs, tries) =>
        this.#log.warn(
          {
            event: 'worker.hand_back_retry',
            err: error,
            tries,
            retryInMs,
            jobIds,
            queues,
          },
          'could not hand back the jobs reserved ahead; trying again',
        ),
    ).then(
      (outcomes) => {
        // never announced running (held ahead, not started): no second `queued` event
        for (const [index, job] of jobs.entries()) this.announce(job, outcomes[index]);
        this.#log.info(
          { event: 'worker.handed_back', jobIds, queues },
          'jobs grew long: handed back the jobs reserved ahead, for idle workers',
        );
      },
      (error: unknown) =>
        this.#log.warn(
          { event: 'worker.hand_back_failed', err: error, jobIds, queues },
          'could not hand back the jobs reserved ahead; they go back to their queues when their leases end',
        ),
    );
    this.#inFlight(settling);
  }

  /**
   * Hands back a reserved-ahead job whose `expiresAt` passed before a slot freed, without
   * counting the attempt: the reserve that takes it next marks it `expired` by Redis's clock,
   * as it does every job it finds past its time, so the job never runs. When Redis cannot be
   * reached the job waits in `unreleased`, its lease renewed, for the next try. A worker told to
   * stop when empty waits for it, as for a hand-back: its next reserve marks the job expired.
   */
  releaseExpired(job: ReservedJob): void {
    this.#inFlight(
      this.#driver.release([leaseOf(job)]).then(
        // back only to be marked expired by the next reserve: no `queued` event
        ([outcome]) => this.announce(job, outcome),
        (error: unknown) => {
          this.unreleased.push(job);
          this.#log.warn(
            { event: 'worker.release_failed', err: error, jobId: job.id, queue: job.queue },
            'could not hand back a job past its expiresAt; trying again with the next lease renewal',
          );
        },
      ),
    );
  }

  /**
   * Ends a reserved-ahead job whose cancel was requested, without running it: handed back
   * (its attempt not counted), a job whose cancel was requested ends `cancelled`. One whose
   * cancel was not requested after all (a stale or forged broadcast: anyone may PUBLISH)
   * goes back to its queue and runs later. While Redis is away it is tried a few times; then
   * the lease, no longer renewed, ends and the reserve that reclaims it ends it the same way.
   * Kept in `releasing` until it settles: a shutdown waits for it (and its event).
   */
  cancel(job: ReservedJob): void {
    // one whose cancel was not recorded goes back to its queue: a worker told to stop when
    // empty waits for it, as for a hand-back
    this.#inFlight(this.#cancel(job));
  }

  async #cancel(job: ReservedJob): Promise<void> {
    let outcome: ReleaseOutcome | undefined;
    try {
      [outcome] = await whileRedisPasses(
        () => this.#driver.release([leaseOf(job)]),
        (error, retryInMs, tries) =>
          this.#log.warn(
            { event: 'job.cancel_retry', err: error, tries, retryInMs, jobId: job.id, queue: job.queue },
            'could not end a job reserved ahead whose cancel was requested; trying again',
          ),
      );
    } catch (error) {
      this.#log.warn(
        { event: 'job.cancel_failed', err: error, jobId: job.id, queue: job.queue, job: job.name },
        'could not end a job reserved ahead whose cancel was requested; it ends when its lease does',
      );
      return;
    }
    if (outcome === 'cancelled') {
      this.#log.info({ event: 'job.cancelled', ...jobFields(job) }, 'job cancelled before it started');
    }
    this.announce(job, outcome);
  }

  /**
   * Counts `work`, a hand-back that puts jobs back in their queues, as in flight until it
   * settles, and keeps it in `releasing` for a shutdown to wait for; once it settles, a worker
   * told to stop when empty looks again (the jobs are back in the queue).
   */
  #inFlight(work: Promise<void>): void {
    this.#handingBack++;
    track(
      work.finally(() => {
        this.#handingBack--;
        this.#settled();
      }),
      this.releasing,
    );
  }

  /**
   * Publishes what a release made of a job this worker held: `cancelled`, at the attempt before
   * the one given back, or, for a job that ran here (on `ranOn`, the worker's name), at its
   * attempt, which counts; `queued` (back in its queue) only when `queued` says so: a job held
   * ahead was never announced running, so its follower has it queued still.
   */
  announce(job: ReservedJob, outcome: ReleaseOutcome | undefined, queued = false, ranOn?: string): void {
    if (outcome === 'cancelled') {
      if (ranOn === undefined) this.#events?.emit(job, 'cancelled', job.attempt - 1);
      else this.#events?.emit(job, 'cancelled', job.attempt, ranOn);
    } else if (outcome === 'queued' && queued) this.#events?.emit(job, 'queued', job.attempt - 1);
  }
}
