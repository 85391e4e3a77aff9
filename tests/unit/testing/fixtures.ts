/** Job classes the QueueFake tests dispatch and run. */
import { Job, type JobContext } from '../../../core/index.js';

export interface EmailPayload {
  to: string;
  subject: string;
}

/** Remembers what ran, in order, for the assertions of one test. */
export const ran: string[] = [];

export class EmailJob extends Job<EmailPayload, { sentTo: string }> {
  static override readonly queue = 'emails';
  async handle({ to }: EmailPayload, { attempt, queue }: JobContext) {
    ran.push(`email ${to} on ${queue} attempt ${attempt}`);
    return { sentTo: to };
  }
}

export class ReadingJob extends Job<{ deviceId: string; value: number }> {
  static override readonly jobName = 'readings.process';
  static override readonly queue = 'telemetry';
  async handle({ deviceId, value }: { deviceId: string; value: number }) {
    ran.push(`reading ${deviceId}=${value}`);
    if (value > 100) await EmailJob.dispatch({ to: 'ops@example.com', subject: `${deviceId} is hot` });
  }
}

export class BrokenJob extends Job<{ reason: string }> {
  static readonly failures: string[] = [];
  async handle({ reason }: { reason: string }): Promise<void> {
    throw new Error(reason);
  }
  override failed(error: Error) {
    BrokenJob.failures.push(error.message);
  }
}

export class EchoForeverJob extends Job<{ n: number }> {
  async handle({ n }: { n: number }) {
    await EchoForeverJob.dispatch({ n: n + 1 });
  }
}

export class ContextJob extends Job<null, { jobId: string; aborted: boolean; maxTries: number }> {
  static override readonly maxTries = 4;
  async handle(_payload: null, context: JobContext) {
    context.progress(50, 'half way');
    context.log.info('logging is silent');
    return { jobId: context.jobId, aborted: context.signal.aborted, maxTries: context.maxTries };
  }
}

/** Reports progress in steps, the way a job that knows its amount of work does. */
export class StepsJob extends Job<{ files: string[] }> {
  async handle({ files }: { files: string[] }, { steps }: JobContext) {
    const counter = steps(files.length);
    const imported: string[] = [];
    for (const file of files) {
      imported.push(file);
      counter.advance(1, file, { imported });
    }
  }
}
