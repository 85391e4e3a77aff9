/** Job classes the queue tests run, recording what happened to them. */
import { Job, type JobContext, UnrecoverableError } from '../../core/index.js';
import { sleep } from './queue_names.js';

/** Shared log of what the test jobs did, keyed by a per-test tag in the payload. */
export const journal = new Map<string, string[]>();
export const note = (tag: string, entry: string) => {
  journal.set(tag, [...(journal.get(tag) ?? []), entry]);
};
export const entries = (tag: string): string[] => journal.get(tag) ?? [];

export class EchoJob extends Job<{ tag: string; value: string }, { echoed: string }> {
  static override readonly jobName = 'EchoJob';
  async handle({ tag, value }: { tag: string; value: string }, { attempt }: JobContext) {
    note(tag, `${value}@${attempt}`);
    return { echoed: value };
  }
}

export class FlakyJob extends Job<{ tag: string; failures: number }> {
  static override readonly jobName = 'FlakyJob';
  static override readonly maxTries = 3;
  async handle({ tag, failures }: { tag: string; failures: number }, { attempt }: JobContext) {
    note(tag, `attempt ${attempt}`);
    if (attempt <= failures) throw new Error(`flaky failure ${attempt}`);
  }
  override failed(error: Error, { tag }: { tag: string }) {
    note(tag, `failed: ${error.message}`);
  }
}

export class DoomedJob extends Job<{ tag: string }> {
  static override readonly jobName = 'DoomedJob';
  static override readonly maxTries = 5;
  async handle({ tag }: { tag: string }): Promise<void> {
    note(tag, 'ran');
    throw new UnrecoverableError('this cannot work');
  }
  override failed(error: Error, { tag }: { tag: string }) {
    note(tag, `failed: ${(error as UnrecoverableError).code}`);
  }
}

export class SlowJob extends Job<{ tag: string; ms: number; honourSignal: boolean }> {
  static override readonly jobName = 'SlowJob';
  static override readonly maxTries = 1;
  async handle(
    { tag, ms, honourSignal }: { tag: string; ms: number; honourSignal: boolean },
    context: JobContext,
  ) {
    note(tag, `start ${context.jobId}`);
    const { signal } = context;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, ms);
      if (honourSignal) {
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          note(tag, `aborted: ${(signal.reason as { code?: string }).code ?? signal.reason}`);
          reject(signal.reason);
        });
      }
    });
    note(tag, `end ${context.jobId}`);
  }
}

export class ProgressJob extends Job<{ tag: string; updates: number }> {
  static override readonly jobName = 'ProgressJob';
  async handle({ tag, updates }: { tag: string; updates: number }, { progress }: JobContext) {
    for (let i = 1; i <= updates; i++) {
      progress((i / updates) * 100, `step ${i}`);
      if (i % 1000 === 0) await sleep(1);
    }
    note(tag, 'done');
  }
}

/** Counts `done` of `total` steps through `steps()`, then holds for `holdMs` before it ends. */
export class StepsJob extends Job<{ tag: string; total: number; done: number; holdMs: number }> {
  static override readonly jobName = 'StepsJob';
  async handle(
    { tag, total, done, holdMs }: { tag: string; total: number; done: number; holdMs: number },
    { steps }: JobContext,
  ) {
    const counter = steps(total);
    for (let i = 1; i <= done; i++) counter.advance(1, `file ${i} of ${total}`, { files: i });
    await sleep(holdMs);
    note(tag, `done ${counter.done}`);
  }
}

export const testJobs = [EchoJob, FlakyJob, DoomedJob, SlowJob, ProgressJob, StepsJob];
