/**
 * `npx topiq queue:work | head -n 3` and `npx topiq serve --workers | head -n 3`: the commands
 * whose output is their log stop gracefully when its reader goes, as on SIGTERM: no new job,
 * the jobs they hold handed back or finished, exit code 0, nothing on stderr. pino took the
 * closed pipe quietly, so both ran on, logging to nobody, until killed, and the pipeline with
 * them. Here the reader closes once it has read a line of a completed job, so the worker is
 * in the middle of a backlog, with jobs leased and reserved ahead.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../../core/index.js';
import { freePort } from '../../support/net.js';
import {
  buildApplication,
  type CliProcess,
  cliEnv,
  deletePrefix,
  startCli,
  uniquePrefix,
  waitFor,
} from './cli_harness.js';

const prefix = uniquePrefix();
const env = cliEnv(prefix, { LOG_LEVEL: 'info' });
const BACKLOG = 1000;
let app: Application;

beforeAll(() => {
  app = buildApplication(env);
});

afterAll(async () => {
  await app.close();
  await deletePrefix(prefix);
});

/** Stores `BACKLOG` emails on `queue`, more than a worker runs before it sees its reader gone. */
async function pushBacklog(queue: string): Promise<void> {
  await app.driver.push(
    Array.from({ length: BACKLOG }, (_, index) => ({
      id: `email-${index}`,
      name: 'SendEmailJob',
      queue,
      payload: '{"to":"ops@example.com","subject":"hi","body":""}',
      maxTries: 0,
      priority: 0,
    })),
  );
}

/** Closes the CLI's stdout once it logged a completed job, as `head` does once it has its lines. */
async function readUntilAJobCompleted(cli: CliProcess) {
  const ended = () => cli.child.exitCode !== null || cli.child.signalCode !== null;
  const completed = () => cli.stdout.includes('"event":"job.completed"');
  await waitFor(() => completed() || ended(), 15_000);
  expect(completed(), `no job completed; stderr: ${cli.stderr}`).toBe(true);
  cli.child.stdout?.destroy();
  // not the harness's 25 s limit: a process that runs on is this test's failure
  await waitFor(ended, 10_000).catch(() => cli.child.kill('SIGKILL'));
  return cli.done;
}

/** Every job of `queue` finished or back in the queue: none leased, failed or lost. */
async function expectNoJobLost(queue: string): Promise<void> {
  const counts = await app.driver.counts(queue);
  expect(counts).toMatchObject({ running: 0, pending: 0, failed: 0, delayed: 0 });
  expect(counts.waiting + counts.completed).toBe(BACKLOG);
  // it stopped taking jobs: the backlog was not run to its end first
  expect(counts.waiting).toBeGreaterThan(0);
  expect(await app.driver.workers()).toEqual([]);
}

describe('a long-running command whose log reader goes', () => {
  it('queue:work | head: stops gracefully, exit 0, nothing on stderr, no job lost', async () => {
    const queue = `${prefix}-work`;
    await pushBacklog(queue);
    const worker = startCli(['queue:work', `--queue=${queue}`, '--concurrency=5'], env);

    const result = await readUntilAJobCompleted(worker);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await expectNoJobLost(queue);
  });

  it('serve --workers | head: stops gracefully, exit 0, nothing on stderr, no job lost', async () => {
    const queue = `${prefix}-serve`;
    await pushBacklog(queue);
    const port = String(await freePort());
    const server = startCli(['serve', '--workers', `--queue=${queue}`, `--port=${port}`], env);

    const result = await readUntilAJobCompleted(server);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    await expectNoJobLost(queue);
  });
});
