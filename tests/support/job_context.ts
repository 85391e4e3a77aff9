/** A `JobContext` for calling a job's `handle()` directly in a test, as a worker would. */
import { type JobContext, silentLogger } from '../../core/index.js';

/** The context of try `attempt` of the job stored as `jobId` in `queue`. */
export function jobContext(jobId: string, attempt: number, queue: string, maxTries = 3): JobContext {
  return {
    jobId,
    queue,
    attempt,
    maxTries,
    signal: new AbortController().signal,
    log: silentLogger(),
    progress: () => {},
    steps: () => {
      throw new Error('not used by this job');
    },
  };
}
