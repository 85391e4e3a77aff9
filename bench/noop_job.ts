/**
 * The job the queue bench runs: it does nothing, so a measurement shows what the queue
 * itself costs per job. Shared by the bench (which dispatches it) and the worker process.
 */
import { Job } from '../core/index.js';

export interface NoopPayload {
  i: number;
}

export class NoopJob extends Job<NoopPayload> {
  static override readonly jobName = 'BenchNoopJob';

  async handle(_payload: NoopPayload): Promise<void> {}
}
