/**
 * The shutdown of a worker: hands back at once the jobs it reserved ahead, lets the running
 * ones finish within the grace period (or, after a limit's stop, their timeouts), waits for
 * the failed() hooks and hand-backs in flight, then hands back what still runs and flushes
 * the acknowledgements and events left.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../logger.js';
import type { ChurnMap } from '../support/churn_map.js';
import { groupBy } from '../support/group_by.js';
import { MAX_TIMER_MS, withDeadline } from '../support/timers.js';
import type { AckBuffer } from './ack_buffer.js';
import type { QueueDriver, ReservedJob } from './driver.js';
import type { HandBacks } from './hand_backs.js';
import { JobAbort } from './job_abort.js';
import type { JobEventPublisher } from './job_events.js';
import { type JobRunner, type RunningJob, WorkerShutdownError } from './job_runner.js';
import { leaseOf } from './lease_keeper.js';
import { jobFields } from './names.js';

/**
 * How long, after its grace period, a stopping worker waits for Redis to take back what it
 * holds (its hand-backs, the acknowledgements left). On a link that answers nothing (packets
 * dropped, no reset) those calls never settle: past it, the worker stops anyway, and the leases
 * it could not give back lapse, their jobs taken back by the next reserve.
 */
export const SETTLE_WAIT_MS = 5_000;

const UNANSWERED = 'no answer from Redis before the stop went on';

/** What a stopping worker holds, and what it lets go of it with. */
export interface Draining {
  /** The worker's name, as its events give it. */
  name: string;
  driver: QueueDriver;
  log: Logger;
  events: JobEventPublisher | undefined;
  acks: AckBuffer;
  runner: Pick<JobRunner, 'timeoutMsOf'>;
  /** The jobs running now. */
  running: ChurnMap<string, RunningJob>;
  /** Jobs reserved ahead of a free slot. */
  ready: ReservedJob[];
  handBacks: HandBacks;
  /** The failed() hooks of jobs the worker reclaimed, failed for good, from dead workers. */
  failedHooks: ReadonlySet<Promise<void>>;
  /** How long running jobs may finish once the grace period began, in ms. */
  graceMs: number;
  /** When the grace period began, if it has: read as the drain goes, as a signal may start it. */
  graceFrom(): number | undefined;
  /** Aborted when the grace period ends, before what still runs is handed back. */
  graceOver: AbortController;
  /** Settles once the reserve calls in flight have answered (their jobs then in `ready`). */
  reserving(): Promise<unknown>;
}

/** Lets go of all a stopping worker holds; resolves once it is released, finished or flushed. */
export async function drainWorker(worker: Draining): Promise<void> {
  const { log, running: runningJobs, failedHooks, handBacks } = worker;
  // Jobs reserved ahead never started, those of the reserves in flight too once they answer:
  // back to their queues at once, for other workers, instead of held through the grace period
  // (which runs meanwhile: on a link that answers nothing, this never settles)
  const aheadHandedBack = (async () => {
    await withDeadline(worker.reserving(), SETTLE_WAIT_MS, UNANSWERED).catch(() => {});
    await handBack(worker, [], takeWaiting(worker));
  })();
  const { graceMs } = worker;
  // A limit's stop lets running jobs finish until their timeouts have passed (and the grace
  // period after, for their failures to be recorded); a signal meanwhile starts the grace
  // period. A job without a timer (a timeout past MAX_TIMER_MS) gets MAX_TIMER_MS, as a bound.
  const limitEnd =
    Date.now() +
    Math.min(
      MAX_TIMER_MS,
      Math.max(0, ...runningJobs.values().map(({ job }) => worker.runner.timeoutMsOf(job))),
    ) +
    graceMs;
  const deadlineNow = () => {
    const graceFrom = worker.graceFrom();
    return graceFrom === undefined ? limitEnd : graceFrom + graceMs;
  };
  while (runningJobs.size > 0 && Date.now() < deadlineNow()) {
    await sleep(Math.max(1, Math.min(50, deadlineNow() - Date.now())));
  }
  const deadline = Math.min(deadlineNow(), Date.now() + graceMs);
  // each is bounded by its job's timeout, which may be far longer than a stop may take
  if (failedHooks.size > 0 && Date.now() < deadline) {
    const grace = new AbortController();
    await Promise.race([
      Promise.all(failedHooks),
      sleep(deadline - Date.now(), undefined, { signal: grace.signal }).catch(() => {}),
    ]);
    grace.abort();
  }
  // A run whose failure is recorded only waits for its failed() hook: its job is off its lease
  // and failed for good, so it is not handed back (that would log it released, outcome lost).
  const running = runningJobs.values();
  const hooked = running.filter((entry) => entry.failureRecorded);
  for (const { job } of hooked) {
    log.warn(
      { event: 'job.failed_hook_abandoned', ...jobFields(job) },
      "stopping with the job's failed() hook still running: the grace period ended first",
    );
  }
  const hooksLeft = failedHooks.size + hooked.length;
  if (hooksLeft > 0) {
    log.warn(
      { event: 'worker.failed_hooks_left', count: hooksLeft },
      'stopping with failed() hooks still running: the grace period ended first',
    );
  }
  // The grace period is over: what still runs gets its signal and is handed back now (a run
  // leaves the running jobs, and its lease the renewals, once it stops), and the completions
  // left are sent, whatever else Redis has yet to answer.
  const runningHandedBack = handBack(
    worker,
    runningJobs.values().filter((entry) => !entry.failureRecorded),
    [],
  );
  const acknowledged = worker.acks.flush();
  worker.graceOver.abort();
  const settleBy = Math.max(deadline, Date.now()) + SETTLE_WAIT_MS;
  const settled = (what: string, work: Promise<unknown>) => settledBy(log, settleBy, what, work);
  await settled('the hand-back of the running jobs', runningHandedBack);
  await settled('the hand-back of the jobs held ahead', aheadHandedBack);
  await settled('the reserves in flight', worker.reserving());
  // jobs reserves in flight left, and any hand-back that failed meanwhile
  await settled('the hand-back of the jobs reserved last', handBack(worker, [], takeWaiting(worker)));
  while (handBacks.releasing.size > 0 && Date.now() < settleBy) {
    await settled('hand-backs in flight', Promise.all(handBacks.releasing));
  }
  await settled('the acknowledgements left', acknowledged);
  // a completion added once that flush was done (a run that ended as the grace period did):
  // one more try
  if (worker.acks.size > 0 && Date.now() < settleBy) {
    await settled('the acknowledgements left', worker.acks.flush(1));
  }
  worker.events?.flush(true);
}

/**
 * Waits for `work` until `settleBy` (epoch ms) at the latest; past it, logs that Redis did not
 * answer (`worker.stop_unanswered`) and lets the stop go on. Rejects as `work` does before then.
 */
async function settledBy(log: Logger, settleBy: number, what: string, work: Promise<unknown>): Promise<void> {
  const ms = Math.max(0, settleBy - Date.now());
  await withDeadline(work, ms, UNANSWERED).catch((error: unknown) => {
    if ((error as Error).message !== UNANSWERED) throw error;
    log.warn(
      { event: 'worker.stop_unanswered', waited: what },
      `stopping without ${what}: Redis did not answer in time; what it has not taken back lapses, and the next reserve takes those jobs back`,
    );
  });
}

/** Takes the jobs reserved ahead and those whose hand-back failed, as entries to release. */
function takeWaiting({ ready, handBacks }: Draining): (RunningJob & { expired?: true })[] {
  const entry = (job: ReservedJob) => ({ job, lease: leaseOf(job), controller: new JobAbort() });
  return [
    ...ready.splice(0).map(entry),
    // past their expiresAt: back in the queue only to be marked expired, so no `queued` event
    ...handBacks.unreleased.splice(0).map((job) => ({ ...entry(job), expired: true as const })),
  ];
}

/**
 * Releases the `running` jobs and those `waiting` to start on shutdown (their signals fire
 * first) and announces what became of them.
 */
async function handBack(
  { name, driver, log, handBacks }: Draining,
  running: readonly RunningJob[],
  waiting: readonly (RunningJob & { expired?: true })[],
): Promise<void> {
  const left: (RunningJob & { expired?: true })[] = [...running, ...waiting];
  if (left.length === 0) return;
  for (const { controller } of left) controller.abort(new WorkerShutdownError('worker shutting down'));
  // each queue's apart: one that Redis refuses (a key of it replaced by hand) fails only its own
  const startedOnes = new Set(left.slice(0, running.length));
  const groups = [...groupBy(left, ({ job }) => job.queue).values()];
  await Promise.all(
    groups.map(async (group) => {
      const started = group.filter((entry) => startedOnes.has(entry)).length;
      try {
        // started: handed back, each still counts as having run should it come due past its expiresAt
        const outcomes = await driver.release(
          group.map((entry) => entry.lease),
          { started },
        );
        for (const [index, { job, expired }] of group.entries()) {
          // the running ones first: their handlers started here. One held ahead was never
          // announced running, so its follower has it queued still: no second `queued` for it
          const ran = index < started;
          handBacks.announce(job, outcomes[index], ran && !expired, ran ? name : undefined);
          log.info(
            { event: 'job.released', ...jobFields(job), outcome: outcomes[index] },
            'job handed back unfinished',
          );
        }
      } catch (error) {
        log.error(
          {
            event: 'worker.release_failed',
            err: error,
            jobIds: group.map(({ job }) => job.id),
            queues: [group[0]!.job.queue], // a group is one queue's
          },
          'could not release; leases will expire',
        );
      }
    }),
  );
}
