/**
 * `job:show` and `job:list --json` on a job hash edited by hand in real Redis: a field that is
 * no number any more prints as no time, not as a stack.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../../core/console/index.js';
import type { JobOutput } from '../../../core/console/commands/job_formatting.js';
import { cliEnv, deletePrefix, REDIS_URL, runInProcess } from './cli_harness.js';

const prefix = `fxc-${randomBytes(4).toString('hex')}`;
const env = cliEnv(prefix);
const queue = 'damaged';

afterAll(async () => {
  await deletePrefix(prefix);
});

const run = (argv: string[]) => runInProcess(argv, env);

describe('a job record damaged in Redis', () => {
  it('is shown by job:show and job:list --json with its non-numeric times as none', async () => {
    const payload = JSON.stringify({ to: 'ops@example.com', subject: 'hi', body: '' });
    const dispatched = await run(['job:dispatch', 'SendEmailJob', '--payload', payload, `--queue=${queue}`]);
    expect(dispatched.code).toBe(ExitCode.ok);
    const id = dispatched.out.trim();
    const redis = new Redis(REDIS_URL);
    try {
      expect(await redis.hset(`${prefix}:{${queue}}:job:${id}`, 'queuedAt', 'x', 'attempts', 'y')).toBe(0);
    } finally {
      redis.disconnect();
    }

    const shown = await run(['job:show', id]);
    expect(shown.err).toBe('');
    expect(shown.code).toBe(ExitCode.ok);
    expect(shown.out).toMatch(/^queued: +-$/m);
    expect(shown.out).toMatch(/^attempts: +0\/5$/m);

    const listed = await run(['job:list', `--queue=${queue}`, '--json']);
    expect(listed.err).toBe('');
    expect(listed.code).toBe(ExitCode.ok);
    const [job] = JSON.parse(listed.out) as JobOutput[];
    expect(job).toMatchObject({ id, queuedAt: null, attempts: 0 });
  });
});
