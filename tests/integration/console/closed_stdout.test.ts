/**
 * `npx topiq ... | head -5`: a command whose stdout's reader has gone stops quietly with exit
 * code 0, as Unix tools do, instead of dying of EPIPE with a stack trace and exit 1. The reader
 * here closes before the command writes at all (the parent drops its end of the pipe at once,
 * as `| true` does), so the command's first write always meets a closed pipe.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Application } from '../../../core/index.js';
import { buildApplication, cliEnv, deletePrefix, startCli, uniquePrefix } from './cli_harness.js';

const prefix = uniquePrefix();
const env = cliEnv(prefix);
let app: Application;

beforeAll(() => {
  app = buildApplication(env);
});

afterAll(async () => {
  await app.close();
  await deletePrefix(prefix);
});

/** Runs `npx topiq <args>` with nobody reading its stdout. */
async function runUnread(args: string[]) {
  const cli = startCli(args, env);
  cli.child.stdout?.destroy();
  return cli.done;
}

describe('npx topiq with a stdout nobody reads', () => {
  it.concurrent.each(['job:types', 'job:types --json', '--help'])(
    'topiq %s | true: exits 0 and prints nothing to stderr',
    async (line) => {
      const result = await runUnread(line.split(' '));
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    },
  );

  it('job:list --queue q | head -5 over 80 jobs: exits 0 and prints nothing to stderr', async () => {
    const queue = `${prefix}-many`;
    await app.driver.push(
      Array.from({ length: 80 }, (_, index) => ({
        id: `job-${index}`,
        name: 'SendEmailJob',
        queue,
        payload: '{"to":"ops@example.com","subject":"hi","body":""}',
        maxTries: 0,
        priority: 0,
      })),
    );

    // --limit: past the default 50, --json notes on stderr that more jobs match
    for (const json of [[], ['--json']]) {
      const args = ['job:list', `--queue=${queue}`, '--limit=100', ...json];
      const result = await runUnread(args);
      expect(result.stderr, args.join(' ')).toBe('');
      expect(result.code, args.join(' ')).toBe(0);
    }
  });
});
