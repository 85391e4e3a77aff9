/** Sends an email (simulated: logs it). Runs on the `emails` queue. */
import { z } from 'zod';
import { Job, type JobContext } from '../../core/index.js';

export interface SendEmailPayload {
  to: string;
  subject: string;
  body: string;
}

const schema = z.object({ to: z.string().email(), subject: z.string().min(1), body: z.string() });

export class SendEmailJob extends Job<SendEmailPayload, { delivered: true }> {
  static override readonly jobName = 'SendEmailJob';
  static override readonly queue = 'emails';
  static override readonly maxTries = 5;
  static override readonly retryAfter = { type: 'exponential', base: 2, max: 300, jitter: 'full' } as const;
  static override readonly timeout = 30;
  static override readonly schema = schema;

  async handle(payload: SendEmailPayload, { log, signal }: JobContext): Promise<{ delivered: true }> {
    signal.throwIfAborted();
    // A real app calls its mail provider here, passing `signal` so a timeout cancels the request.
    log.info({ to: payload.to, subject: payload.subject }, 'email sent');
    return { delivered: true };
  }

  override failed(error: Error, payload: SendEmailPayload, { log }: { log: JobContext['log'] }): void {
    log.error({ to: payload.to, err: error }, 'giving up on email');
  }
}
